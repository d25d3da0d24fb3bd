#include "recover/waves.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace lifeboat::recover {

namespace {

// The cycle through `start`'s dependencies, as "a -> b -> a", or nullopt when there is none
// reachable from it. `state`: 0 unseen, 1 on the current path, 2 done.
std::optional<std::string> FindCycle(const plan::Plan& plan,
                                     const std::map<std::string, size_t>& index, size_t start,
                                     std::vector<int>* state, std::vector<size_t>* path) {
  (*state)[start] = 1;
  path->push_back(start);
  for (const plan::NameRef& d : plan.services[start].depends_on) {
    auto it = index.find(d.name);
    if (it == index.end()) continue;
    const size_t j = it->second;
    if ((*state)[j] == 1) {
      std::string text;
      auto from = std::find(path->begin(), path->end(), j);
      for (auto p = from; p != path->end(); ++p) text += plan.services[*p].name + " -> ";
      return text + plan.services[j].name;
    }
    if ((*state)[j] == 0) {
      if (auto c = FindCycle(plan, index, j, state, path)) return c;
    }
  }
  path->pop_back();
  (*state)[start] = 2;
  return std::nullopt;
}

}  // namespace

Result<std::vector<Wave>> RecoveryWaves(const plan::Plan& plan,
                                        const std::vector<std::string>& selected) {
  const size_t n = plan.services.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[plan.services[i].name] = i;

  std::vector<bool> in_set(n, false), chosen(n, false);
  std::vector<size_t> pending;  // services whose dependencies are still to be added
  if (selected.empty()) {
    for (size_t i = 0; i < n; ++i) {
      chosen[i] = true;
      pending.push_back(i);
    }
  }
  for (const std::string& name : selected) {
    auto it = index.find(name);
    if (it == index.end()) {
      std::string names;
      for (const plan::Service& s : plan.services) names += (names.empty() ? "" : ", ") + s.name;
      return Status::InvalidArgument("no service named \"" + name + "\" in the plan " + plan.file +
                                     " (its services: " + names + ")");
    }
    if (chosen[it->second]) {
      return Status::InvalidArgument("service \"" + name + "\" is named twice");
    }
    chosen[it->second] = true;
    pending.push_back(it->second);
  }
  // Everything the chosen services depend on, directly or not.
  while (!pending.empty()) {
    const size_t i = pending.back();
    pending.pop_back();
    if (in_set[i]) continue;
    in_set[i] = true;
    for (const plan::NameRef& d : plan.services[i].depends_on) {
      auto it = index.find(d.name);
      if (it != index.end() && !in_set[it->second]) pending.push_back(it->second);
    }
  }

  std::vector<int> state(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!in_set[i] || state[i] != 0) continue;
    std::vector<size_t> path;
    if (std::optional<std::string> cycle = FindCycle(plan, index, i, &state, &path)) {
      return Status::FailedPrecondition("the services depend on each other in a cycle: " + *cycle +
                                        "; no recovery order exists (plan validate "
                                        "reports it)");
    }
  }

  // Wave numbers: 1 + the latest wave among the dependencies. Acyclic, so n passes settle it.
  std::vector<int> wave(n, 1);
  for (size_t pass = 0; pass < n; ++pass) {
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (!in_set[i]) continue;
      for (const plan::NameRef& d : plan.services[i].depends_on) {
        auto it = index.find(d.name);
        if (it != index.end() && wave[it->second] + 1 > wave[i]) {
          wave[i] = wave[it->second] + 1;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }

  // Priority: a dependency takes the most critical tier of what needs it. Dependents are in later
  // waves, so going from the last wave down settles each before it is passed on.
  std::vector<int> priority(n);
  for (size_t i = 0; i < n; ++i) priority[i] = plan.services[i].tier;
  std::vector<size_t> by_wave_desc;
  for (size_t i = 0; i < n; ++i) {
    if (in_set[i]) by_wave_desc.push_back(i);
  }
  std::stable_sort(by_wave_desc.begin(), by_wave_desc.end(),
                   [&](size_t a, size_t b) { return wave[a] > wave[b]; });
  for (size_t i : by_wave_desc) {
    for (const plan::NameRef& d : plan.services[i].depends_on) {
      auto it = index.find(d.name);
      if (it != index.end()) priority[it->second] = std::min(priority[it->second], priority[i]);
    }
  }

  int last_wave = 0;
  for (size_t i = 0; i < n; ++i) {
    if (in_set[i]) last_wave = std::max(last_wave, wave[i]);
  }
  std::vector<Wave> waves(static_cast<size_t>(last_wave));
  for (int w = 0; w < last_wave; ++w) waves[static_cast<size_t>(w)].number = w + 1;
  for (size_t i = 0; i < n; ++i) {
    if (!in_set[i]) continue;
    const plan::Service& svc = plan.services[i];
    WaveService ws;
    ws.name = svc.name;
    ws.tier = svc.tier;
    ws.priority_tier = priority[i];
    ws.selected = chosen[i];
    ws.plan_index = i;
    for (const plan::NameRef& d : svc.depends_on) {
      if (index.count(d.name)) ws.depends_on.push_back(d.name);
    }
    for (size_t j = 0; j < n; ++j) {
      if (!in_set[j]) continue;
      for (const plan::NameRef& d : plan.services[j].depends_on) {
        if (d.name == svc.name) {
          ws.needed_by.push_back(plan.services[j].name);
          break;
        }
      }
    }
    waves[static_cast<size_t>(wave[i] - 1)].services.push_back(std::move(ws));
  }
  for (Wave& w : waves) {
    std::stable_sort(w.services.begin(), w.services.end(),
                     [](const WaveService& a, const WaveService& b) {
                       if (a.priority_tier != b.priority_tier)
                         return a.priority_tier < b.priority_tier;
                       if (a.tier != b.tier) return a.tier < b.tier;
                       return a.plan_index < b.plan_index;
                     });
  }
  return waves;
}

std::string EnvironmentName(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

}  // namespace lifeboat::recover
