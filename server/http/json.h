// A streaming JSON writer and Prometheus's number formats: sample values are strings holding
// the shortest round-trip digits laid out without an exponent ("1.5", "0.0000001"... as Go's
// strconv.FormatFloat(v, 'f', -1, 64) does, with "NaN", "+Inf", "-Inf"), timestamps are JSON
// numbers in seconds ("1435781451.781"). Strings are escaped as Go's encoding/json does with
// HTML escaping on (<, >, & as \u003c...), invalid UTF-8 bytes each becoming \ufffd.
// A JsonWriter is thread-compatible.
#ifndef EMBER_SERVER_HTTP_JSON_H_
#define EMBER_SERVER_HTTP_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::server {

class JsonWriter {
 public:
  // Commas and the colon after a key are written automatically.
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);  // Escaped; invalid UTF-8 bytes become U+FFFD.
  JsonWriter& Int(int64_t v);
  // A JSON number as Go's encoding/json writes float64: plain decimal in [1e-6, 1e21), else
  // exponent form ("1e-7", "1e+21"). NaN and infinities as null.
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  JsonWriter& PromValue(double v);          // String(FormatPromValue(v)).
  JsonWriter& PromTimestamp(int64_t t_ms);  // Number: seconds with up to 3 decimals.
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> first_;  // Per open container: nothing written into it yet.
  bool after_key_ = false;
};

// Go's strconv.FormatFloat(v, 'f', -1, 64) with NaN / +Inf / -Inf.
std::string FormatPromValue(double v);
// 1435781451781 -> "1435781451.781", 1000 -> "1", -1500 -> "-1.5".
std::string FormatPromTimestamp(int64_t t_ms);
// Go's time.Time in JSON, UTC: "2023-11-14T22:13:20.5Z" (fraction only when non-zero).
std::string FormatRfc3339(int64_t t_ms);

}  // namespace ember::server

#endif  // EMBER_SERVER_HTTP_JSON_H_
