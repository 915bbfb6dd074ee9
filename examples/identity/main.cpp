// peermq-identity [KEYFILE]: load (or create) a node identity and print its address.
//
// The smallest program written against the installed peermq library: it shows the key
// file and address API, and is what the find_package(peermq) test builds.
#include <cstdio>
#include <string>

#include <peermq/address.hpp>
#include <peermq/identity.hpp>

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "peermq.key";
  std::string detail;
  auto identity = peermq::load_or_create_key_file(path, nullptr, &detail);
  if (!identity) {
    std::fprintf(stderr, "peermq-identity: %s\n", detail.c_str());
    return 1;
  }
  std::string text = identity->address().to_string();

  // An address is self-certifying: parsing it gives back the very same public key.
  std::size_t bad_at = 0;
  auto parsed = peermq::Address::parse(text, &bad_at);
  if (!parsed || *parsed != identity->address()) {
    std::fprintf(stderr, "peermq-identity: address did not round-trip\n");
    return 1;
  }
  std::printf("address: %s\n", text.c_str());
  return 0;
}
