// The byte-level pieces of the HTTP server that need no socket: percent-decoding a path, gzip
// in both directions (zlib), Accept-Encoding negotiation, credential comparison and the
// Prometheus-style JSON error body. Internal to server/; every function is thread-safe.
#ifndef EMBER_SERVER_HTTP_HTTP_CODEC_H_
#define EMBER_SERVER_HTTP_HTTP_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ember::server {

// "/a%2Fb" -> "/a/b". '+' stays '+' (it means a space only in a query). InvalidArgument, naming
// the escape as Go's net/url does, for a '%' not followed by two hex digits:
// `invalid URL escape "%zz"`.
absl::StatusOr<std::string> PercentDecodePath(std::string_view raw_path);

// Inflates a gzip body (one or more concatenated members). InvalidArgument "gzip: <reason>" for
// a corrupt or truncated stream; ResourceExhausted when the output would exceed `max_bytes`,
// without inflating further.
absl::StatusOr<std::string> Gunzip(std::string_view compressed, size_t max_bytes);

// A gzip stream (RFC 1952) of `data` at zlib's default level.
std::string Gzip(std::string_view data);

// Whether an Accept-Encoding value admits gzip: "gzip" or "x-gzip" with q > 0, or "*" with
// q > 0 when gzip is not listed. Tokens are case-insensitive: "deflate, GZIP;q=0.5" -> true,
// "gzip;q=0, *" -> false.
bool AcceptsGzip(std::string_view accept_encoding);

// Compares in time that depends only on the lengths, so a caller guessing a token learns
// nothing from how long a mismatch took.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// {"status":"error","errorType":"<error_type>","error":"<message>"}, the body of every error
// the server itself produces. `message` is escaped; invalid UTF-8 becomes U+FFFD.
std::string PromErrorBody(std::string_view error_type, std::string_view message);

}  // namespace ember::server

#endif  // EMBER_SERVER_HTTP_HTTP_CODEC_H_
