# EMBER_STATIC: an `ember` for edge devices that needs nothing but the C library. Every
# dependency is linked from the static archive Debian 12 ships beside its shared library
# (librocksdb.a, libprotobuf-lite.a, libabsl_*.a, libre2.a, libyaml-cpp.a, libgflags.a,
# libsnappy.a, libzstd.a, liblz4.a, libbz2.a, libz.a), libstdc++ and libgcc statically, and
# unused sections are dropped (-ffunction-sections -fdata-sections -Wl,--gc-sections).
#
# glibc stays a shared library by default: a fully static glibc still loads its NSS modules
# with dlopen for getaddrinfo (the scrape targets' and Alertmanagers' host names), and those
# must then be the very glibc version the binary was built with. EMBER_STATIC_GLIBC=ON links
# it statically anyway (numeric addresses and /etc/hosts work; the linker warns about
# getaddrinfo and dlopen).
#
# Included before the first find_package (the library suffixes), and
# ember_use_static_archives() called once every package is found: Debian's CMake packages
# (absl, yaml-cpp, gflags, Snappy, zstd, benchmark) import their shared libraries, so their
# imported locations are rewritten to the archive next to them.

if(NOT EMBER_STATIC)
  return()
endif()

set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(Protobuf_USE_STATIC_LIBS ON)
set(ZLIB_USE_STATIC_LIBS ON)
set(BZip2_USE_STATIC_LIBS ON)
add_compile_options(-ffunction-sections -fdata-sections)
# -no-pie: no run-time relocations (0.4 MB of .rela.dyn) and fewer dirty pages; the price is a
# fixed load address. gold's identical code folding (--icf=safe) merges identical functions
# (template instances): 0.2 MB. gold comes with binutils.
add_link_options(-static-libstdc++ -static-libgcc -no-pie -fuse-ld=gold -Wl,--icf=safe
                 -Wl,--gc-sections -Wl,-O1)
if(EMBER_STATIC_GLIBC)
  add_link_options(-static)
endif()

# /usr/lib/x86_64-linux-gnu/libfoo.so.1.2.3 -> /usr/lib/x86_64-linux-gnu/libfoo.a, when it exists.
function(_ember_static_path path out)
  set(result "${path}")
  if(path MATCHES "^(.*/lib[^/]+)\\.so(\\.[0-9.]+)?$")
    if(EXISTS "${CMAKE_MATCH_1}.a")
      set(result "${CMAKE_MATCH_1}.a")
    endif()
  endif()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

function(ember_use_static_archives)
  get_property(targets DIRECTORY "${PROJECT_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  set(missing "")
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(configs ${t} IMPORTED_CONFIGURATIONS)
      set(props IMPORTED_LOCATION)
      if(configs)
        foreach(c ${configs})
          list(APPEND props IMPORTED_LOCATION_${c})
        endforeach()
      endif()
      foreach(p ${props})
        get_target_property(loc ${t} ${p})
        if(loc)
          _ember_static_path("${loc}" static)
          if(static MATCHES "\\.so")
            list(APPEND missing "${t}: ${loc}")
          endif()
          set_target_properties(${t} PROPERTIES ${p} "${static}")
        endif()
      endforeach()
    endif()
    get_target_property(deps ${t} INTERFACE_LINK_LIBRARIES)
    if(deps)
      set(rewritten "")
      foreach(d ${deps})
        _ember_static_path("${d}" static)
        list(APPEND rewritten "${static}")
      endforeach()
      set_target_properties(${t} PROPERTIES INTERFACE_LINK_LIBRARIES "${rewritten}")
    endif()
  endforeach()
  if(missing)
    message(WARNING "EMBER_STATIC: no static archive for: ${missing}")
  endif()
endfunction()
