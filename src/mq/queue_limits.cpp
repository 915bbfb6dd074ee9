#include "mq/queue_limits.hpp"

namespace peermq::mq {

std::string quoted_command(std::string_view command) {
  if (command.empty()) return "messages without a command";
  return "command \"" + std::string(command) + "\"";
}

std::string QueueLimits::refusal(const Grant& grant, Role role,
                                 std::span<const std::string_view> commands) const {
  if (!config_.access) return {};
  switch (role) {
    case Role::producer:
      if (!grant.may_produce_something()) return "not allowed to produce at " + config_.name;
      break;
    case Role::consumer:
      for (std::string_view command : commands) {
        if (!grant.may_consume(command)) {
          return "not allowed to consume " + quoted_command(command) + " at " + config_.name;
        }
      }
      break;
    case Role::admin:
      if (!grant.may_admin()) return "not allowed to administer " + config_.name;
      break;
  }
  return {};
}

std::string QueueLimits::explain(Admission a, std::string_view command, std::size_t size) const {
  switch (a) {
    case Admission::not_allowed: return "not allowed to produce " + quoted_command(command);
    case Admission::too_large:
      return "payload and headers of " + std::to_string(size) + " bytes exceed " +
             std::to_string(config_.max_payload);
    case Admission::queue_full: return std::string(kQueueFull);
    case Admission::admitted: break;
  }
  return {};
}

}  // namespace peermq::mq
