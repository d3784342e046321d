// Query results in the JSON shapes of Prometheus's HTTP API (web/api/v1 and its jsoniter
// encoders): the "data" object of /api/v1/query and /api/v1/query_range, byte for byte in key
// order and number formats. Stateless; safe from any thread.
#ifndef EMBER_SERVER_API_QUERY_JSON_H_
#define EMBER_SERVER_API_QUERY_JSON_H_

#include <atomic>
#include <string_view>

#include "ember/labels.h"
#include "query/ast.h"
#include "query/value.h"
#include "server/http/json.h"

namespace ember::server {

// The API's "resultType" names: "scalar", "vector", "matrix", "string"; "none" for kNone.
std::string_view ResultTypeName(query::ValueType t);

// {"__name__":"up","job":"api"}, in the order of `labels` (canonical labels are sorted).
void WriteLabelsObject(const Labels& labels, JsonWriter* w);

// The value of the response's "data" field:
//   vector: {"resultType":"vector","result":[{"metric":{...},"value":[1435781451.781,"1"]}]}
//   matrix: {"resultType":"matrix","result":[{"metric":{...},"values":[[t,"v"],...]}]}
//   scalar: {"resultType":"scalar","result":[t,"v"]}
//   string: {"resultType":"string","result":[t,"text"]}
// An empty vector or matrix gives "result":[]. As Prometheus, a series without points has no
// "values" key. kNone gives {"resultType":"none","result":null}.
// `cancel`, when set, is polled as series are written: once true, writing stops and false is
// returned (`*w` then holds a partial document).
bool WriteQueryData(const query::Value& v, JsonWriter* w,
                    const std::atomic<bool>* cancel = nullptr);

}  // namespace ember::server

#endif  // EMBER_SERVER_API_QUERY_JSON_H_
