// A streaming JSON writer and Prometheus's number formats: sample values are strings holding
// the shortest round-trip decimal ("1.5", "1e-07"... as Go's strconv.FormatFloat(v, 'f', -1)
// does, with "NaN", "+Inf", "-Inf"), timestamps are JSON numbers in seconds ("1435781451.781").
#ifndef EMBER_SERVER_JSON_H_
#define EMBER_SERVER_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
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
  JsonWriter& Double(double v);  // A JSON number; NaN and infinities as null.
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

}  // namespace ember::server

#endif  // EMBER_SERVER_JSON_H_
