// AccessList: which keys may produce, consume or administer which commands at a broker.
//
// Optional: a broker without one admits everybody (the single-machine, trusted case).
// With one, a key not listed is refused at hello, a consumer may subscribe only to
// commands it may consume, and every publish is checked against what its key may produce.
// Peers are identified by their authenticated public key (the channel proved it), never by
// a name they claim.
//
// Text form, one rule per line, '#' starts a comment:
//
//   # key (address) or * for every key        grants
//   k3x...56 chars...a                         produce=users.get,users.*  consume=""
//   *                                          consume=jobs.*
//   k7q...56 chars...b                         admin produce=*
//
// A command pattern is a command name, `*` (any command), `prefix*` (any command starting
// with prefix) or `""` (messages without a command). A key's grants are those of its own
// line(s) plus those of `*` lines. Single-threaded after construction.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/result.hpp>

namespace peermq::mq {

// A set of command patterns.
class CommandSet {
 public:
  // Adds a pattern: name, "*", "prefix*" or "" (no command). False if it is not one.
  bool add(std::string_view pattern);
  bool matches(std::string_view command) const;
  bool empty() const noexcept { return !any_ && names_.empty() && prefixes_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  bool any_ = false;
  std::unordered_set<std::string, Hash, std::equal_to<>> names_;
  std::vector<std::string> prefixes_;
};

struct AccessRule {
  CommandSet produce;
  CommandSet consume;
  bool admin = false;
};

// What one key may do: its own rule and the rule for every key, either may be absent.
struct Grant {
  const AccessRule* own = nullptr;
  const AccessRule* any = nullptr;

  bool listed() const noexcept { return own != nullptr || any != nullptr; }
  bool may_produce(std::string_view command) const;
  bool may_produce_something() const;
  bool may_consume(std::string_view command) const;
  bool may_admin() const;
};

class AccessList {
 public:
  // Parses the text form. On error, *error_line (1-based) names the offending line and the
  // error is MqError::bad_config or an AddressError for a mistyped key.
  static Result<AccessList> parse(std::string_view text, std::size_t* error_line = nullptr);

  // The rule for `key` (created empty if absent); nullptr key = the rule for every key.
  AccessRule& rule(const PublicKey* key);
  // Pointers in the Grant stay valid until rule() adds a rule.
  Grant grant(const PublicKey& key) const;

 private:
  struct KeyHash {
    std::size_t operator()(const PublicKey& k) const noexcept;
  };
  std::unordered_map<PublicKey, AccessRule, KeyHash> rules_;
  bool has_any_ = false;
  AccessRule any_;
};

}  // namespace peermq::mq
