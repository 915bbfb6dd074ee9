// The roles of the peermq binary. Each lives in its own node/<role>_role.cpp.
#pragma once

#include "command_line.hpp"

namespace peermq::cli {

void define_keygen_flags(FlagSet& flags);
int run_keygen(const FlagSet& flags, Io& io);
void define_broker_flags(FlagSet& flags);
int run_broker(const FlagSet& flags, Io& io);
void define_consumer_flags(FlagSet& flags);
int run_consumer(const FlagSet& flags, Io& io);
void define_producer_flags(FlagSet& flags);
int run_producer(const FlagSet& flags, Io& io);
void define_bench_flags(FlagSet& flags);
int run_bench(const FlagSet& flags, Io& io);
void define_relay_flags(FlagSet& flags);
int run_relay(const FlagSet& flags, Io& io);
void define_ping_flags(FlagSet& flags);
int run_ping(const FlagSet& flags, Io& io);

}  // namespace peermq::cli
