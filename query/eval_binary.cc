// Evaluator: binary operators — scalar/vector arithmetic and comparisons, vector matching
// (one-to-one, group_left/group_right) and the set operators, as Prometheus's VectorBinop.
#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "query/eval.h"
#include "util/status_macros.h"

namespace ember::query {
namespace {

// Applies `op`; for comparisons `*keep` says whether the comparison held and the value is lhs.
double ElemBinop(BinaryOp op, double l, double r, bool* keep) {
  *keep = true;
  switch (op) {
    case BinaryOp::kAdd:
      return l + r;
    case BinaryOp::kSub:
      return l - r;
    case BinaryOp::kMul:
      return l * r;
    case BinaryOp::kDiv:
      return l / r;
    case BinaryOp::kMod:
      return std::fmod(l, r);
    case BinaryOp::kPow:
      return std::pow(l, r);
    case BinaryOp::kAtan2:
      return std::atan2(l, r);
    case BinaryOp::kEql:
      *keep = l == r;
      return l;
    case BinaryOp::kNeq:
      *keep = l != r;
      return l;
    case BinaryOp::kLss:
      *keep = l < r;
      return l;
    case BinaryOp::kLte:
      *keep = l <= r;
      return l;
    case BinaryOp::kGtr:
      *keep = l > r;
      return l;
    case BinaryOp::kGte:
      *keep = l >= r;
      return l;
    default:
      return 0;
  }
}

bool DropsName(BinaryOp op) { return !IsComparisonOp(op) && !IsSetOp(op); }

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The labels a sample is matched on.
Labels MatchLabels(const Labels& labels, const VectorMatching& m) {
  Labels out;
  for (const Label& l : labels) {
    const bool listed = Contains(m.matching_labels, l.name);
    if (m.on ? listed : (!listed && l.name != kMetricNameLabel)) out.push_back(l);
  }
  return out;
}

Labels ResultMetric(const Labels& lhs, const Labels& rhs, const VectorMatching& m) {
  Labels out;
  if (m.card == Cardinality::kOneToOne) {
    for (const Label& l : lhs) {
      const bool listed = Contains(m.matching_labels, l.name);
      if (m.on ? listed : !listed) out.push_back(l);
    }
  } else {
    out = lhs;
  }
  for (const std::string& name : m.include) {
    SetLabel(&out, name, GetLabelValue(rhs, name));
  }
  return out;
}

// Per binary-operator node, for all its steps: the matching signature of each input label set
// and the result labels of each matched pair, interned so that pointers compare as label sets.
class MatchCache {
 public:
  MatchCache(const VectorMatching& m, LabelPool* pool) : m_(m), pool_(pool) {}

  const VectorMatching& matching() const { return m_; }

  const Labels* Signature(const Labels* labels) {
    auto [it, inserted] = sig_.try_emplace(labels, nullptr);
    if (inserted) it->second = pool_->Intern(MatchLabels(*labels, m_));
    return it->second;
  }

  const Labels* Result(const Labels* lhs, const Labels* rhs) {
    auto [it, inserted] = result_.try_emplace(std::make_pair(lhs, rhs), nullptr);
    if (inserted) it->second = pool_->Intern(ResultMetric(*lhs, *rhs, m_));
    return it->second;
  }

 private:
  const VectorMatching& m_;
  LabelPool* pool_;
  absl::flat_hash_map<const Labels*, const Labels*> sig_;
  absl::flat_hash_map<std::pair<const Labels*, const Labels*>, const Labels*> result_;
};

absl::Status VectorBinop(BinaryOp op, bool return_bool, MatchCache* mc, EvalVector& lhs_in,
                         EvalVector& rhs_in, EvalVector* out) {
  if (lhs_in.empty() || rhs_in.empty()) return absl::OkStatus();
  const VectorMatching& m = mc->matching();
  const bool swap = m.card == Cardinality::kOneToMany;
  EvalVector& lhs = swap ? rhs_in : lhs_in;
  EvalVector& rhs = swap ? lhs_in : rhs_in;
  absl::flat_hash_map<const Labels*, size_t> right;
  right.reserve(rhs.size());
  for (size_t i = 0; i < rhs.size(); ++i) {
    auto [it, inserted] = right.try_emplace(mc->Signature(rhs[i].labels), i);
    if (!inserted) {
      Labels a = *rhs[it->second].labels;
      Labels b = *rhs[i].labels;
      if (LabelsLess(b, a)) std::swap(a, b);
      return absl::InvalidArgumentError(absl::StrCat(
          "found duplicate series for the match group ",
          LabelsToString(MatchLabels(*rhs[i].labels, m)), " on the ", swap ? "left" : "right",
          " hand-side of the operation: [", LabelsToString(a), ", ", LabelsToString(b),
          "];many-to-many matching not allowed: matching labels must be unique on one side"));
    }
  }
  absl::flat_hash_map<const Labels*, absl::flat_hash_set<const Labels*>> matched;
  for (EvalSample& ls : lhs) {
    const Labels* sig = mc->Signature(ls.labels);
    auto it = right.find(sig);
    if (it == right.end()) continue;
    const EvalSample& rs = rhs[it->second];
    double l = ls.v;
    double r = rs.v;
    if (swap) std::swap(l, r);
    bool keep = true;
    double v = ElemBinop(op, l, r, &keep);
    auto [mit, first] = matched.try_emplace(sig);
    // Checked before filtering, so the error does not depend on the values.
    if (m.card == Cardinality::kOneToOne && !first) {
      return absl::InvalidArgumentError(
          "multiple matches for labels: many-to-one matching must be explicit "
          "(group_left/group_right)");
    }
    if (return_bool) {
      v = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    const Labels* metric = mc->Result(ls.labels, rs.labels);
    if (m.card != Cardinality::kOneToOne && !mit->second.insert(metric).second) {
      return absl::InvalidArgumentError(
          "multiple matches for labels: grouping labels must ensure unique matches");
    }
    out->push_back(EvalSample{metric, v, ls.t, ls.drop_name || return_bool || DropsName(op)});
  }
  return absl::OkStatus();
}

void SetOp(BinaryOp op, MatchCache* mc, EvalVector& lhs, EvalVector& rhs, EvalVector* out) {
  switch (op) {
    case BinaryOp::kAnd: {
      if (lhs.empty() || rhs.empty()) return;
      absl::flat_hash_set<const Labels*> sigs;
      for (const EvalSample& s : rhs) sigs.insert(mc->Signature(s.labels));
      for (EvalSample& s : lhs) {
        if (sigs.contains(mc->Signature(s.labels))) out->push_back(s);
      }
      return;
    }
    case BinaryOp::kOr: {
      absl::flat_hash_set<const Labels*> sigs;
      for (EvalSample& s : lhs) {
        sigs.insert(mc->Signature(s.labels));
        out->push_back(s);
      }
      for (EvalSample& s : rhs) {
        if (!sigs.contains(mc->Signature(s.labels))) out->push_back(s);
      }
      return;
    }
    case BinaryOp::kUnless: {
      absl::flat_hash_set<const Labels*> sigs;
      for (const EvalSample& s : rhs) sigs.insert(mc->Signature(s.labels));
      for (EvalSample& s : lhs) {
        if (!sigs.contains(mc->Signature(s.labels))) out->push_back(s);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace

absl::StatusOr<EvalResult> Evaluator::EvalBinary(const BinaryExpr& e) {
  EMBER_ASSIGN_OR_RETURN(EvalResult lhs, Eval(*e.lhs));
  EMBER_ASSIGN_OR_RETURN(EvalResult rhs, Eval(*e.rhs));
  const EvalResult* args[2] = {&lhs, &rhs};
  EvalResult r;
  const BinaryOp op = e.op;
  const bool rb = e.return_bool;
  if (lhs.type == ValueType::kScalar && rhs.type == ValueType::kScalar) {
    r.type = ValueType::kScalar;
    EMBER_ASSIGN_OR_RETURN(
        r.series, RangeEval(args, [&](std::span<EvalVector> v, int64_t ts, EvalVector* out) {
          bool keep = true;
          double x = ElemBinop(op, v[0][0].v, v[1][0].v, &keep);
          if (IsComparisonOp(op)) x = keep ? 1 : 0;
          out->push_back(EvalSample{&NoLabels(), x, ts, false});
          return absl::OkStatus();
        }));
    return r;
  }
  r.type = ValueType::kVector;
  if (lhs.type == ValueType::kVector && rhs.type == ValueType::kVector) {
    const VectorMatching m = e.matching.value_or(VectorMatching{});
    MatchCache mc(m, &ctx_->labels);
    if (IsSetOp(op)) {
      EMBER_ASSIGN_OR_RETURN(
          r.series, RangeEval(args, [&](std::span<EvalVector> v, int64_t, EvalVector* out) {
            SetOp(op, &mc, v[0], v[1], out);
            return absl::OkStatus();
          }));
      return r;
    }
    EMBER_ASSIGN_OR_RETURN(r.series,
                           RangeEval(args, [&](std::span<EvalVector> v, int64_t, EvalVector* out) {
                             return VectorBinop(op, rb, &mc, v[0], v[1], out);
                           }));
    return r;
  }
  // Vector and scalar, either way round.
  const bool scalar_left = lhs.type == ValueType::kScalar;
  EMBER_ASSIGN_OR_RETURN(r.series,
                         RangeEval(args, [&](std::span<EvalVector> v, int64_t, EvalVector* out) {
                           EvalVector& vec = scalar_left ? v[1] : v[0];
                           const double s = scalar_left ? v[0][0].v : v[1][0].v;
                           for (EvalSample& smp : vec) {
                             const double l = scalar_left ? s : smp.v;
                             const double rr = scalar_left ? smp.v : s;
                             bool keep = true;
                             double x = ElemBinop(op, l, rr, &keep);
                             // A comparison keeps the vector element's value, whichever side it is
                             // on.
                             if (IsComparisonOp(op)) x = smp.v;
                             if (rb) {
                               x = keep ? 1 : 0;
                               keep = true;
                             }
                             if (!keep) continue;
                             smp.v = x;
                             if (rb || DropsName(op)) smp.drop_name = true;
                             out->push_back(smp);
                           }
                           return absl::OkStatus();
                         }));
  return r;
}

}  // namespace ember::query
