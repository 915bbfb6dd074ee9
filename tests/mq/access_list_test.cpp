#include "mq/access_list.hpp"

#include <doctest/doctest.h>

#include <ostream>
#include <string>

#include <peermq/identity.hpp>

#include "mq/mq_error.hpp"

using namespace peermq;
using namespace peermq::mq;

namespace {

PublicKey real_key(int n) {
  // Address::parse checks keys are curve points: use real identities.
  static const Identity ids[] = {Identity::generate(), Identity::generate()};
  return ids[n].public_key();
}

std::string addr(const PublicKey& k) { return Address(k).to_string(); }

}  // namespace

TEST_CASE("command patterns match names, prefixes, everything or no command") {
  CommandSet set;
  CHECK(set.empty());
  CHECK(set.add("users.get"));
  CHECK(set.add("jobs.*"));
  CHECK(set.add("\"\""));
  CHECK(set.matches("users.get"));
  CHECK_FALSE(set.matches("users.put"));
  CHECK(set.matches("jobs.resize"));
  CHECK_FALSE(set.matches("job"));
  CHECK(set.matches(""));
  CommandSet any;
  CHECK(any.add("*"));
  CHECK(any.matches("whatever"));
  CHECK(any.matches(""));
  CommandSet bad;
  CHECK_FALSE(bad.add(""));
  CHECK_FALSE(bad.add("a b"));
  CHECK_FALSE(bad.add("a*b*"));
}

TEST_CASE("an access list grants a key its own rules plus the rules for every key") {
  const PublicKey alice = real_key(0);
  const PublicKey bob = real_key(1);
  const std::string text = "# producers and consumers\n" + addr(alice) +
                           "  produce=users.*,jobs.run consume=\"\"  # alice\n"
                           "*  consume=jobs.*\n"
                           "\n" +
                           addr(bob) + " admin\n";
  auto acl = AccessList::parse(text);
  REQUIRE(acl);
  const Grant a = acl->grant(alice);
  CHECK(a.may_produce("users.get"));
  CHECK(a.may_produce("jobs.run"));
  CHECK_FALSE(a.may_produce("jobs.stop"));
  CHECK(a.may_consume(""));
  CHECK(a.may_consume("jobs.stop"));  // from '*'
  CHECK_FALSE(a.may_admin());
  const Grant b = acl->grant(bob);
  CHECK(b.may_admin());
  CHECK_FALSE(b.may_produce_something());
  CHECK(b.may_consume("jobs.x"));
}

TEST_CASE("an access list without a '*' rule grants nothing to unlisted keys") {
  auto acl = AccessList::parse(addr(real_key(0)) + " produce=*\n");
  REQUIRE(acl);
  const Grant g = acl->grant(real_key(1));
  CHECK_FALSE(g.listed());
  CHECK_FALSE(g.may_produce("x"));
}

TEST_CASE("a bad access list line is reported with its number") {
  std::size_t line = 0;
  auto acl = AccessList::parse("* consume=a\n* eat=b\n", &line);
  CHECK(acl.error() == MqError::bad_config);
  CHECK(line == 2);
  auto bad_key = AccessList::parse("\n\nnot-an-address produce=*\n", &line);
  CHECK_FALSE(bad_key);
  CHECK(line == 3);
}
