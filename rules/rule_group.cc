#include "rules/rule_group.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ember/sample.h"
#include "rules/template.h"
#include "util/status_macros.h"
#include "util/strings.h"

namespace ember::rules {
namespace {

constexpr std::string_view kAlertsMetric = "ALERTS";
constexpr std::string_view kForStateMetric = "ALERTS_FOR_STATE";
constexpr std::string_view kAlertNameLabel = "alertname";
constexpr std::string_view kAlertStateLabel = "alertstate";

// How long a resolved alert is kept, and so re-sent as resolved, after it resolved: long enough
// for Alertmanager to hear of it despite a failed send or its own restart. Prometheus's value.
constexpr int64_t kResolvedRetentionMs = 15 * 60 * 1000;

// Sets `name` to `value` in `labels` (not necessarily sorted); an empty value removes the label,
// as Prometheus's labels.Builder does.
void SetLabel(Labels* labels, std::string_view name, std::string value) {
  auto it =
      std::find_if(labels->begin(), labels->end(), [&](const Label& l) { return l.name == name; });
  if (value.empty()) {
    if (it != labels->end()) labels->erase(it);
  } else if (it != labels->end()) {
    it->value = std::move(value);
  } else {
    labels->push_back(Label{std::string(name), std::move(value)});
  }
}

void DeleteLabel(Labels* labels, std::string_view name) { SetLabel(labels, name, ""); }

// Go's time.Unix(): whole seconds, rounded down.
int64_t FloorSeconds(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kUnknown:
      return "unknown";
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "unknown";
}

std::string_view RuleHealthName(RuleHealth health) {
  switch (health) {
    case RuleHealth::kUnknown:
      return "unknown";
    case RuleHealth::kOk:
      return "ok";
    case RuleHealth::kErr:
      return "err";
  }
  return "unknown";
}

struct GroupEvaluator::CompiledRule {
  struct Entry {
    std::string name;
    absl::StatusOr<Template> tmpl;
  };
  // Alerting rules only; values are templates.
  std::vector<Entry> labels;
  std::vector<Entry> annotations;

  static std::vector<Entry> Compile(const Labels& in) {
    std::vector<Entry> out;
    out.reserve(in.size());
    for (const Label& l : in) out.push_back(Entry{l.name, Template::Parse(l.value)});
    return out;
  }

  // Prometheus puts a failed expansion into the value rather than failing the rule.
  static std::string Expand(const Entry& e, const TemplateData& data) {
    if (!e.tmpl.ok())
      return absl::StrCat("<error expanding template: ", e.tmpl.status().message(), ">");
    absl::StatusOr<std::string> s = e.tmpl->Expand(data);
    if (!s.ok()) return absl::StrCat("<error expanding template: ", s.status().message(), ">");
    return *std::move(s);
  }
};

GroupEvaluator::GroupEvaluator(const RuleGroup& group, Db* db, query::EngineOptions engine_options,
                               Labels external_labels, query::QueryExecutor* executor)
    : GroupEvaluator(group, storage::QuerierOf(db), storage::AppendableOf(db),
                     std::move(engine_options), std::move(external_labels), executor) {}

GroupEvaluator::GroupEvaluator(const RuleGroup& group, storage::Querier* querier,
                               storage::Appendable* appendable, query::EngineOptions engine_options,
                               Labels external_labels, query::QueryExecutor* executor)
    : group_(group),
      querier_(querier),
      appendable_(appendable),
      engine_(querier, engine_options),
      executor_(executor),
      external_labels_(std::move(external_labels)) {
  compiled_.reserve(group_.rules.size());
  for (const Rule& rule : group_.rules) {
    CompiledRule c;
    if (!rule.alert.empty()) {
      c.labels = CompiledRule::Compile(rule.labels);
      c.annotations = CompiledRule::Compile(rule.annotations);
    }
    compiled_.push_back(std::move(c));
  }
  previous_series_.resize(group_.rules.size());
  status_.resize(group_.rules.size());
}

GroupEvaluator::~GroupEvaluator() = default;

namespace {

// Prometheus's EngineQueryFunc: a scalar becomes a one-sample vector with no labels.
absl::StatusOr<query::Vector> QueryVector(query::Engine& engine, query::QueryExecutor* executor,
                                          const std::shared_ptr<std::atomic<bool>>& cancel,
                                          std::string_view expr, int64_t t_ms) {
  const std::function<absl::StatusOr<query::QueryResult>()> run = [&] {
    return engine.InstantQuery(expr, t_ms, cancel.get());
  };
  EMBER_ASSIGN_OR_RETURN(query::QueryResult r,
                         executor != nullptr ? executor->Run(run, cancel) : run());
  switch (r.value.type) {
    case query::ValueType::kVector:
      return std::move(r.value.vector);
    case query::ValueType::kScalar:
      return query::Vector{query::VectorSample{Labels{}, t_ms, r.value.scalar}};
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("rule result is not a vector or scalar (got ",
                       util::AsAbsl(query::ValueTypeName(r.value.type)), ")"));
  }
}

}  // namespace

absl::StatusOr<GroupEvaluator::Output> GroupEvaluator::EvalRecording(size_t i, int64_t t_ms) {
  const Rule& rule = group_.rules[i];
  EMBER_ASSIGN_OR_RETURN(query::Vector vec,
                         QueryVector(engine_, executor_, cancel_, rule.expr, t_ms));
  Output out;
  std::set<Labels> seen;
  for (query::VectorSample& s : vec) {
    Labels l = std::move(s.labels);
    SetLabel(&l, kMetricNameLabel, rule.record);
    for (const Label& rl : rule.labels) SetLabel(&l, rl.name, rl.value);
    CanonicalizeLabels(&l);
    if (!seen.insert(l).second) {
      return absl::InvalidArgumentError(
          "vector contains metrics with the same labelset after applying rule labels");
    }
    out.labels.push_back(std::move(l));
    out.values.push_back(s.v);
  }
  if (group_.limit > 0 && static_cast<int64_t>(out.labels.size()) > group_.limit) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("exceeded limit of %d with %d series", group_.limit, out.labels.size()));
  }
  return out;
}

absl::StatusOr<GroupEvaluator::Output> GroupEvaluator::EvalAlerting(size_t i, int64_t t_ms) {
  const Rule& rule = group_.rules[i];
  const CompiledRule& compiled = compiled_[i];
  EMBER_ASSIGN_OR_RETURN(query::Vector vec,
                         QueryVector(engine_, executor_, cancel_, rule.expr, t_ms));

  // Alerts for this result, keyed by their labels; templates expand outside the lock.
  std::map<Labels, Alert> result;
  for (query::VectorSample& s : vec) {
    const TemplateData data{s.labels, s.v, external_labels_};
    Labels l = s.labels;
    DeleteLabel(&l, kMetricNameLabel);
    for (const CompiledRule::Entry& e : compiled.labels) {
      SetLabel(&l, e.name, CompiledRule::Expand(e, data));
    }
    SetLabel(&l, kAlertNameLabel, rule.alert);
    CanonicalizeLabels(&l);
    Alert a;
    for (const CompiledRule::Entry& e : compiled.annotations) {
      a.annotations.push_back(Label{e.name, CompiledRule::Expand(e, data)});
    }
    std::sort(a.annotations.begin(), a.annotations.end());
    a.labels = l;
    a.state = AlertState::kPending;
    a.value = s.v;
    a.active_at_ms = t_ms;
    a.expr = rule.expr;
    if (!result.emplace(std::move(l), std::move(a)).second) {
      return absl::InvalidArgumentError(
          "vector contains metrics with the same labelset after applying alert labels");
    }
  }

  Output out;
  absl::MutexLock lock(&mu_);
  std::map<Labels, Alert>& alerts = status_[i].alerts;
  for (auto& [labels, a] : result) {
    auto it = alerts.find(labels);
    if (it != alerts.end() && it->second.state != AlertState::kInactive) {
      it->second.value = a.value;
      it->second.annotations = std::move(a.annotations);
      continue;
    }
    // New, or back after it resolved: starts over as pending.
    alerts.insert_or_assign(labels, std::move(a));
  }

  int64_t num_active = 0;
  for (auto it = alerts.begin(); it != alerts.end();) {
    Alert& a = it->second;
    if (!result.contains(it->first)) {
      bool keep_firing = false;
      if (a.state == AlertState::kFiring && rule.keep_firing_for_ms > 0) {
        if (a.keep_firing_since_ms == 0) a.keep_firing_since_ms = t_ms;
        keep_firing = t_ms - a.keep_firing_since_ms < rule.keep_firing_for_ms;
      }
      // A pending alert just goes; a resolved one stays a while to be sent as resolved.
      if (a.state == AlertState::kPending ||
          (a.resolved_at_ms != 0 && t_ms - a.resolved_at_ms > kResolvedRetentionMs)) {
        it = alerts.erase(it);
        continue;
      }
      if (!keep_firing) {
        if (a.state != AlertState::kInactive) {
          a.state = AlertState::kInactive;
          a.resolved_at_ms = t_ms;
        }
        ++it;
        continue;
      }
    } else {
      a.keep_firing_since_ms = 0;
    }
    ++num_active;
    if (a.state == AlertState::kPending && t_ms - a.active_at_ms >= rule.for_ms) {
      a.state = AlertState::kFiring;
      a.fired_at_ms = t_ms;
    }

    Labels series = a.labels;
    SetLabel(&series, kMetricNameLabel, std::string(kAlertsMetric));
    SetLabel(&series, kAlertStateLabel, std::string(AlertStateName(a.state)));
    CanonicalizeLabels(&series);
    out.labels.push_back(std::move(series));
    out.values.push_back(1);

    series = a.labels;
    SetLabel(&series, kMetricNameLabel, std::string(kForStateMetric));
    CanonicalizeLabels(&series);
    out.labels.push_back(std::move(series));
    out.values.push_back(static_cast<double>(FloorSeconds(a.active_at_ms)));
    ++it;
  }

  if (group_.limit > 0 && num_active > group_.limit) {
    alerts.clear();
    return absl::ResourceExhaustedError(
        absl::StrFormat("exceeded limit of %d with %d alerts", group_.limit, num_active));
  }
  return out;
}

absl::Status GroupEvaluator::Write(size_t i, const Output& out, int64_t t_ms) {
  std::unique_ptr<Appender> app = appendable_->NewAppender();
  absl::Status first_error;
  // What each queued Append() was, to read Commit()'s rejections: an output series, or null
  // for a stale marker.
  std::vector<const Labels*> queued;
  std::set<Labels> written;
  for (size_t k = 0; k < out.labels.size(); ++k) {
    absl::Status s = app->Append(out.labels[k], t_ms, out.values[k]);
    if (!s.ok()) {
      first_error.Update(s);
      continue;
    }
    queued.push_back(&out.labels[k]);
    written.insert(out.labels[k]);
  }
  // A stale marker the store refuses (out of order, a duplicate timestamp: another rule may
  // write the series) is not the rule's failure, as in Prometheus.
  std::set<Labels> current(out.labels.begin(), out.labels.end());
  for (const Labels& l : previous_series_[i]) {
    if (current.contains(l)) continue;
    if (app->Append(l, t_ms, StaleNaN()).ok()) queued.push_back(nullptr);
  }
  EMBER_ASSIGN_OR_RETURN(CommitResult committed, app->Commit());
  for (const RejectedSample& r : committed.rejected) {
    if (r.index >= queued.size() || queued[r.index] == nullptr) continue;
    first_error.Update(r.status);
    written.erase(*queued[r.index]);
  }
  previous_series_[i] = std::move(written);
  return first_error;
}

absl::Status GroupEvaluator::Evaluate(int64_t t_ms) {
  absl::MutexLock eval_lock(&eval_mu_);
  const auto start = std::chrono::steady_clock::now();
  if (!first_evaluation_ms_.has_value()) first_evaluation_ms_ = t_ms;
  absl::Status first_error;
  for (size_t i = 0; i < group_.rules.size(); ++i) {
    const Rule& rule = group_.rules[i];
    const auto rule_start = std::chrono::steady_clock::now();
    absl::StatusOr<Output> out =
        rule.alert.empty() ? EvalRecording(i, t_ms) : EvalAlerting(i, t_ms);
    absl::Status s = out.ok() ? Write(i, *out, t_ms) : out.status();
    {
      absl::MutexLock lock(&mu_);
      RuleStatus& st = status_[i];
      st.health = s.ok() ? RuleHealth::kOk : RuleHealth::kErr;
      st.last_error = s.ok() ? "" : std::string(s.message());
      st.last_evaluation_ms = t_ms;
      st.evaluation_time_seconds = SecondsSince(rule_start);
    }
    if (!s.ok() && first_error.ok()) {
      const std::string& name = rule.alert.empty() ? rule.record : rule.alert;
      first_error =
          Annotate(s, rule.line > 0 ? absl::StrFormat("rule \"%s\" (line %d)", name, rule.line)
                                    : absl::StrFormat("rule \"%s\"", name));
    }
  }
  absl::MutexLock lock(&mu_);
  last_evaluation_ms_ = t_ms;
  evaluation_time_seconds_ = SecondsSince(start);
  return first_error;
}

absl::Status GroupEvaluator::RestoreForState(int64_t t_ms, int64_t outage_tolerance_ms,
                                             int64_t grace_ms) {
  absl::MutexLock eval_lock(&eval_mu_);
  const int64_t mint = t_ms - outage_tolerance_ms;
  // This evaluator's own ALERTS_FOR_STATE samples carry the ActiveAt it gave after the
  // restart; the state to restore is in the samples before them.
  int64_t maxt = t_ms;
  if (first_evaluation_ms_.has_value()) maxt = std::min(maxt, *first_evaluation_ms_ - 1);
  if (maxt < mint) return absl::OkStatus();

  for (size_t i = 0; i < group_.rules.size(); ++i) {
    const Rule& rule = group_.rules[i];
    if (rule.alert.empty()) continue;
    // A `for` shorter than the grace period: waiting it out again costs less than the grace.
    if (rule.for_ms < grace_ms) continue;

    const std::vector<Matcher> matchers = {
        {Matcher::Op::kEqual, std::string(kMetricNameLabel), std::string(kForStateMetric)},
        {Matcher::Op::kEqual, std::string(kAlertNameLabel), rule.alert}};
    EMBER_ASSIGN_OR_RETURN(std::vector<storage::CompiledMatcher> compiled,
                           storage::CompileMatchers(matchers));
    EMBER_ASSIGN_OR_RETURN(std::unique_ptr<storage::SeriesSet> series,
                           querier_->Select(compiled, mint, maxt));
    // The last sample of each series, keyed by its labels less __name__: the alert's labels.
    std::map<Labels, Sample> last;
    while (series->Next()) {
      std::unique_ptr<SampleIterator> samples = series->Samples();
      std::optional<Sample> latest;
      while (samples->Next()) latest = samples->At();
      EMBER_RETURN_IF_ERROR(Annotate(
          samples->status(), absl::StrCat("restore 'for' state of alert \"", rule.alert, "\"")));
      if (!latest.has_value()) continue;
      Labels l = std::move(series->labels());
      DeleteLabel(&l, kMetricNameLabel);
      last[std::move(l)] = *latest;
    }
    EMBER_RETURN_IF_ERROR(series->status());
    if (last.empty()) continue;

    absl::MutexLock lock(&mu_);
    for (auto& [labels, a] : status_[i].alerts) {
      if (a.state != AlertState::kPending && a.state != AlertState::kFiring) continue;
      auto it = last.find(labels);
      // A stale marker: the alert had ended before the outage.
      if (it == last.end() || IsStaleNaN(it->second.v) || !std::isfinite(it->second.v)) continue;
      // Seconds, as ALERTS_FOR_STATE and Prometheus hold them.
      const int64_t down_at_ms = FloorSeconds(it->second.t) * 1000;
      int64_t active_at_ms = static_cast<int64_t>(it->second.v) * 1000;
      const int64_t remaining_pending_ms = rule.for_ms - (down_at_ms - active_at_ms);
      if (remaining_pending_ms <= 0) {
        // It was firing at the outage: the restored ActiveAt lets the next evaluation fire it.
      } else if (remaining_pending_ms < grace_ms) {
        // Fire at t + grace at the earliest, giving the restarted server time to catch up.
        active_at_ms = t_ms + grace_ms - rule.for_ms;
      } else {
        // Resume the wait where it stopped: the downtime does not count as pending.
        active_at_ms += t_ms - down_at_ms;
      }
      a.active_at_ms = active_at_ms;
    }
  }
  return absl::OkStatus();
}

std::vector<Alert> GroupEvaluator::AlertsToSend(int64_t now_ms, int64_t resend_delay_ms) {
  std::vector<Alert> send;
  // Allows two failed evaluations or sends before Alertmanager expires the alert.
  const int64_t valid_for_ms = 4 * std::max(resend_delay_ms, group_.interval_ms);
  absl::MutexLock lock(&mu_);
  for (RuleStatus& st : status_) {
    for (auto& [labels, a] : st.alerts) {
      if (a.state == AlertState::kPending) continue;
      const bool resolved_since_sent = a.resolved_at_ms > a.last_sent_at_ms;
      if (!resolved_since_sent && a.last_sent_at_ms + resend_delay_ms >= now_ms) continue;
      a.last_sent_at_ms = now_ms;
      a.valid_until_ms = now_ms + valid_for_ms;
      send.push_back(a);
    }
  }
  return send;
}

std::vector<RuleState> GroupEvaluator::rules() const {
  std::vector<RuleState> out;
  out.reserve(group_.rules.size());
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < group_.rules.size(); ++i) {
    const RuleStatus& st = status_[i];
    RuleState r;
    r.rule = group_.rules[i];
    r.alerting = !r.rule.alert.empty();
    r.health = st.health;
    r.last_error = st.last_error;
    r.last_evaluation_ms = st.last_evaluation_ms;
    r.evaluation_time_seconds = st.evaluation_time_seconds;
    if (r.alerting) {
      r.state = st.health == RuleHealth::kUnknown ? AlertState::kUnknown : AlertState::kInactive;
      for (const auto& [labels, a] : st.alerts) {
        r.state = std::max(r.state, a.state);
        if (a.resolved_at_ms == 0) r.alerts.push_back(a);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

int64_t GroupEvaluator::last_evaluation_ms() const {
  absl::MutexLock lock(&mu_);
  return last_evaluation_ms_;
}

double GroupEvaluator::evaluation_time_seconds() const {
  absl::MutexLock lock(&mu_);
  return evaluation_time_seconds_;
}

}  // namespace ember::rules
