// Quoting strings for messages and for printed PromQL: the one copy the modules share.
#ifndef EMBER_UTIL_QUOTE_H_
#define EMBER_UTIL_QUOTE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ember::util {

// Go's strconv.Quote: `"` + s + `"`, with `"` and `\` escaped, \a \b \f \n \r \t \v for those
// controls, \xHH for other controls, DEL and each byte of an invalid UTF-8 sequence; valid
// multi-byte sequences are kept as they are. What Prometheus prints with %q (PromQL strings and
// label values in String(), error messages), so Ember's text matches Prometheus's byte for byte.
std::string GoQuote(std::string_view s);

// `s` for an error message about untrusted input: double-quoted, C-escaped (valid UTF-8 kept
// readable, every other non-printable byte as \xHH), and cut after `max_shown` bytes with `...`
// before the closing quote, so a message never carries a whole request body.
inline constexpr size_t kMaxQuotedInput = 64;
std::string QuoteInput(std::string_view s, size_t max_shown = kMaxQuotedInput);

}  // namespace ember::util

#endif  // EMBER_UTIL_QUOTE_H_
