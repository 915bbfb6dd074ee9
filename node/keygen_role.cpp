// peermq keygen: create the identity key file if it is missing and print its address.
#include <ostream>

#include <peermq/identity.hpp>

#include "node_role.hpp"
#include "roles.hpp"

namespace peermq::cli {

void define_keygen_flags(FlagSet& flags) {
  flags.add_string("key", "peermq.key", "identity key file, created with mode 0600 if missing",
                   "FILE", "PEERMQ_KEY");
  add_common_flags(flags);
}

int run_keygen(const FlagSet& flags, Io& io) {
  const std::string& path = flags.get_string("key");
  bool created = false;
  std::string detail;
  auto identity = load_or_create_key_file(path, &created, &detail);
  if (!identity) {
    io.err << "peermq keygen: " << detail << '\n';
    return kExitFailure;
  }
  if (created) PEERMQ_CLI_LOG(info, "keygen", "created key file %s", path.c_str());
  io.out << "address: " << identity->address().to_string() << '\n';
  return kExitOk;
}

}  // namespace peermq::cli
