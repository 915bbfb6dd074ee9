#include "platform/web_root.hpp"

#include <array>
#include <system_error>

#include <uv.h>

namespace peermq::platform {

std::filesystem::path choose_web_root(const std::filesystem::path& configured,
                                      const std::filesystem::path& executable_dir) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const std::filesystem::path build_tree = executable_dir / "web";
  if (std::filesystem::is_directory(build_tree, ec)) return build_tree;
  return (executable_dir / ".." / "share" / "peermq" / "web").lexically_normal();
}

std::filesystem::path executable_dir() {
  std::array<char, 4096> buffer{};
  std::size_t size = buffer.size();
  if (uv_exepath(buffer.data(), &size) != 0) return {};
  return std::filesystem::path(std::string(buffer.data(), size)).parent_path();
}

}  // namespace peermq::platform
