#include "mq/access_list.hpp"

#include <cstring>

#include "mq/mq_error.hpp"
#include "mq/mq_message.hpp"

namespace peermq::mq {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits off the next token of `s` separated by spaces or tabs.
std::string_view next_token(std::string_view& s) {
  s = trim(s);
  std::size_t end = 0;
  while (end < s.size() && s[end] != ' ' && s[end] != '\t') ++end;
  std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

bool add_patterns(CommandSet& set, std::string_view list) {
  while (true) {
    const std::size_t comma = list.find(',');
    if (!set.add(list.substr(0, comma))) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

bool CommandSet::add(std::string_view pattern) {
  if (pattern == "*") {
    any_ = true;
    return true;
  }
  if (pattern == "\"\"") {
    names_.emplace();
    return true;
  }
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    if (pattern.empty() || !valid_command(pattern)) return false;
    prefixes_.emplace_back(pattern);
    return true;
  }
  if (pattern.empty() || !valid_command(pattern)) return false;
  names_.emplace(pattern);
  return true;
}

bool CommandSet::matches(std::string_view command) const {
  if (any_) return true;
  if (names_.find(command) != names_.end()) return true;
  for (const std::string& p : prefixes_) {
    if (command.size() >= p.size() && command.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

bool Grant::may_produce(std::string_view command) const {
  return (own && own->produce.matches(command)) || (any && any->produce.matches(command));
}

bool Grant::may_produce_something() const {
  return (own && !own->produce.empty()) || (any && !any->produce.empty());
}

bool Grant::may_consume(std::string_view command) const {
  return (own && own->consume.matches(command)) || (any && any->consume.matches(command));
}

bool Grant::may_admin() const { return (own && own->admin) || (any && any->admin); }

std::size_t AccessList::KeyHash::operator()(const PublicKey& k) const noexcept {
  // Keys are authenticated Ed25519 points: their bytes are already well spread.
  std::size_t h;
  std::memcpy(&h, k.data(), sizeof h);
  return h;
}

AccessRule& AccessList::rule(const PublicKey* key) {
  if (key == nullptr) {
    has_any_ = true;
    return any_;
  }
  return rules_[*key];
}

Grant AccessList::grant(const PublicKey& key) const {
  Grant g;
  auto it = rules_.find(key);
  if (it != rules_.end()) g.own = &it->second;
  if (has_any_) g.any = &any_;
  return g;
}

Result<AccessList> AccessList::parse(std::string_view text, std::size_t* error_line) {
  AccessList list;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;
    auto fail = [&](std::error_code e) -> Result<AccessList> {
      if (error_line) *error_line = line_no;
      return e;
    };
    const std::string_view who = next_token(line);
    AccessRule* rule = nullptr;
    if (who == "*") {
      rule = &list.rule(nullptr);
    } else {
      auto address = Address::parse(who);
      if (!address) return fail(address.error());
      rule = &list.rule(&address->public_key());
    }
    for (std::string_view grant = next_token(line); !grant.empty(); grant = next_token(line)) {
      if (grant == "admin") {
        rule->admin = true;
      } else if (grant.substr(0, 8) == "produce=") {
        if (!add_patterns(rule->produce, grant.substr(8))) return fail(MqError::bad_config);
      } else if (grant.substr(0, 8) == "consume=") {
        if (!add_patterns(rule->consume, grant.substr(8))) return fail(MqError::bad_config);
      } else {
        return fail(MqError::bad_config);
      }
    }
  }
  return list;
}

}  // namespace peermq::mq
