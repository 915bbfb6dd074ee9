// The roles of the peermq binary. Each lives in its own node/<role>_role.cpp.
#pragma once

#include "command_line.hpp"

namespace peermq::cli {

void define_keygen_flags(FlagSet& flags);
int run_keygen(const FlagSet& flags, Io& io);

}  // namespace peermq::cli
