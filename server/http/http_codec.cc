#include "server/http/http_codec.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/http/json.h"

namespace ember::server {
namespace {

// zlib counts in uInt; feeding at most this much per call keeps bodies past 4 GiB correct.
constexpr size_t kMaxZlibChunk = size_t{1} << 30;
// Output grows in steps of this much while inflating, so a small body that claims to be huge
// costs little and the limit is checked before each step.
constexpr size_t kInflateStep = 64 << 10;

// Window bits for a gzip wrapper (RFC 1952) instead of zlib's: 15 + 16.
constexpr int kGzipWindowBits = 15 + 16;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string GzipError(const z_stream& s, std::string_view fallback) {
  return absl::StrCat("gzip: ", s.msg != nullptr
                                    ? absl::string_view(s.msg)
                                    : absl::string_view(fallback.data(), fallback.size()));
}

}  // namespace

absl::StatusOr<std::string> PercentDecodePath(std::string_view raw_path) {
  std::string out;
  out.reserve(raw_path.size());
  for (size_t i = 0; i < raw_path.size(); ++i) {
    if (raw_path[i] != '%') {
      out.push_back(raw_path[i]);
      continue;
    }
    const int hi = i + 1 < raw_path.size() ? HexValue(raw_path[i + 1]) : -1;
    const int lo = i + 2 < raw_path.size() ? HexValue(raw_path[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      const std::string_view escape = raw_path.substr(i, 3);
      return absl::InvalidArgumentError(absl::StrFormat("invalid URL escape \"%s\"", escape));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

absl::StatusOr<std::string> Gunzip(std::string_view compressed, size_t max_bytes) {
  std::string out;
  if (compressed.empty()) return out;
  z_stream s{};
  if (inflateInit2(&s, kGzipWindowBits) != Z_OK) {
    return absl::InternalError(GzipError(s, "inflateInit2 failed"));
  }
  const auto* next_in = reinterpret_cast<const Bytef*>(compressed.data());
  size_t remaining_in = compressed.size();
  absl::Status status;
  for (;;) {
    if (s.avail_in == 0 && remaining_in > 0) {
      const size_t n = std::min(remaining_in, kMaxZlibChunk);
      s.next_in = const_cast<Bytef*>(next_in);  // zlib's API predates const.
      s.avail_in = static_cast<uInt>(n);
      next_in += n;
      remaining_in -= n;
    }
    // One byte past the limit is enough to know the limit is exceeded.
    const size_t step = std::min(kInflateStep, max_bytes - out.size() + 1);
    const size_t old_size = out.size();
    out.resize(old_size + step);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    s.avail_out = static_cast<uInt>(step);
    const int rc = inflate(&s, Z_NO_FLUSH);
    out.resize(out.size() - s.avail_out);
    if (out.size() > max_bytes) {
      status = absl::ResourceExhaustedError(
          absl::StrFormat("gzip: body inflates past %d bytes", max_bytes));
      break;
    }
    if (rc == Z_STREAM_END) {
      if (s.avail_in == 0 && remaining_in == 0) break;
      // Another member follows (RFC 1952 allows several); anything else fails its header.
      inflateReset(&s);
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && s.avail_in == 0 && remaining_in == 0) {
      status = absl::InvalidArgumentError("gzip: unexpected EOF");
    } else if (rc == Z_MEM_ERROR) {
      status = absl::ResourceExhaustedError(GzipError(s, "out of memory"));
    } else {
      status = absl::InvalidArgumentError(GzipError(s, "invalid data"));
    }
    break;
  }
  inflateEnd(&s);
  if (!status.ok()) return status;
  return out;
}

std::string Gzip(std::string_view data) {
  z_stream s{};
  // 8 is zlib's default memLevel; deflateInit2 has no way to say "default".
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::string();  // Only on out-of-memory; callers then send the body as is.
  }
  std::string out;
  const auto* next_in = reinterpret_cast<const Bytef*>(data.data());
  size_t remaining_in = data.size();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (s.avail_in == 0 && remaining_in > 0) {
      const size_t n = std::min(remaining_in, kMaxZlibChunk);
      s.next_in = const_cast<Bytef*>(next_in);
      s.avail_in = static_cast<uInt>(n);
      next_in += n;
      remaining_in -= n;
    }
    const size_t step = std::max<size_t>(deflateBound(&s, s.avail_in), 64);
    const size_t old_size = out.size();
    out.resize(old_size + step);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    s.avail_out = static_cast<uInt>(step);
    rc = deflate(&s, remaining_in == 0 ? Z_FINISH : Z_NO_FLUSH);
    out.resize(out.size() - s.avail_out);
    // Every call has fresh output space, so anything but progress is a failure.
    if (rc != Z_OK && rc != Z_STREAM_END) {
      out.clear();
      break;
    }
  }
  deflateEnd(&s);
  return out;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  double gzip_q = -1;  // -1: not listed.
  double star_q = -1;
  for (absl::string_view item :
       absl::StrSplit(absl::string_view(accept_encoding.data(), accept_encoding.size()), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ';');
    const std::string coding = absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[0]));
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
      if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') continue;
      // An unreadable weight counts as a refusal rather than a guess.
      if (!absl::SimpleAtod(param.substr(2), &q)) q = 0;
    }
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_q = std::max(gzip_q, q);
    } else if (coding == "*") {
      star_q = std::max(star_q, q);
    }
  }
  if (gzip_q >= 0) return gzip_q > 0;
  return star_q > 0;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string PromErrorBody(std::string_view error_type, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Key("status").String("error").Key("errorType").String(error_type);
  w.Key("error").String(message).EndObject();
  return w.Take();
}

}  // namespace ember::server
