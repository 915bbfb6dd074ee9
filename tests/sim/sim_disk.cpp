#include "sim/sim_disk.hpp"

#include <algorithm>
#include <utility>

namespace peermq::sim {
namespace fs = std::filesystem;
using storage::OpenMode;
namespace {

std::error_code errno_code(int err) noexcept {
  return {err, std::system_category()};
}

}  // namespace

// ---- handles --------------------------------------------------------------------------------

class SimDisk::Handle final : public storage::File {
 public:
  Handle(SimDisk& disk, NodePtr node, fs::path path, bool writable)
      : disk_(disk),
        node_(std::move(node)),
        path_(std::move(path)),
        writable_(writable),
        epoch_(disk.epoch_) {}

  Result<std::size_t> read(std::uint64_t offset, std::span<std::uint8_t> into) override {
    if (int err = check(DiskOp::read, false)) return errno_code(err);
    const auto& data = node_->data;
    if (offset >= data.size()) return std::size_t{0};
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(into.size(), data.size() - offset));
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(offset), n, into.begin());
    return n;
  }

  Result<void> write(std::uint64_t offset, std::span<const std::uint8_t> bytes) override {
    if (int err = check(DiskOp::write, true)) return errno_code(err);
    Node& file = *node_;
    const std::uint64_t room = disk_.room();
    const std::uint64_t size = file.data.size();
    std::size_t n = bytes.size();
    bool full = false;
    if (offset + n > size && offset + n - size > room) {
      // Write what fits: the file may grow by `room` bytes.
      n = size + room > offset ? static_cast<std::size_t>(size + room - offset) : 0;
      full = true;
    }
    if (n > 0) {
      Change change{offset, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)), false};
      apply(file.data, change);
      file.unsynced.push_back(std::move(change));
    }
    if (full) {
      ++disk_.stats_.faults;
      return errno_code(ENOSPC);
    }
    return {};
  }

  Result<void> truncate(std::uint64_t size) override {
    if (int err = check(DiskOp::truncate, true)) return errno_code(err);
    Node& file = *node_;
    if (size > file.data.size() && size - file.data.size() > disk_.room()) {
      ++disk_.stats_.faults;
      return errno_code(ENOSPC);
    }
    Change change{size, {}, true};
    apply(file.data, change);
    file.unsynced.push_back(std::move(change));
    return {};
  }

  Result<std::uint64_t> size() override {
    if (int err = check(DiskOp::read, false, false)) return errno_code(err);
    return static_cast<std::uint64_t>(node_->data.size());
  }

  Result<void> sync() override {
    if (int err = check(DiskOp::sync, false)) {
      forget_unsynced(err);
      return errno_code(err);
    }
    for (const Change& change : node_->unsynced) apply(node_->durable, change);
    node_->unsynced.clear();
    ++disk_.stats_.syncs;
    return {};
  }

  Result<void> sync_file_system() override {
    if (int err = check(DiskOp::sync, false)) {
      forget_unsynced(err);
      return errno_code(err);
    }
    for (const Change& change : node_->unsynced) apply(node_->durable, change);  // if unlinked
    node_->unsynced.clear();
    disk_.sync_everything();
    ++disk_.stats_.syncs;
    return {};
  }

 private:
  // 0, or the errno the call fails with: a dead handle, a read-only one, or a fault.
  int check(DiskOp op, bool writes, bool faults = true) {
    if (epoch_ != disk_.epoch_) return EBADF;  // its process died in a crash
    if (writes && !writable_) return EBADF;
    return faults ? disk_.fault(op, path_) : 0;
  }
  // fsyncgate: the kernel dropped the pages it could not write; no later sync has them.
  void forget_unsynced(int err) {
    if (err != EBADF) node_->unsynced.clear();
  }

  SimDisk& disk_;
  NodePtr node_;
  fs::path path_;
  bool writable_;
  std::uint64_t epoch_;
};

class SimDisk::Lock final : public storage::FileLock {
 public:
  Lock(SimDisk& disk, NodePtr node) : disk_(disk), node_(std::move(node)), epoch_(disk.epoch_) {}
  ~Lock() override {
    if (epoch_ == disk_.epoch_) disk_.locked_.erase(node_.get());  // else crash() freed it
  }

 private:
  SimDisk& disk_;
  NodePtr node_;
  std::uint64_t epoch_;
};

// ---- the disk -------------------------------------------------------------------------------

SimDisk::SimDisk(SimDiskOptions options)
    : options_(options), random_(options.seed), root_(std::make_shared<Node>()) {
  root_->directory = true;
}

SimDisk::~SimDisk() = default;

fs::path SimDisk::normal(const fs::path& path) {
  fs::path out = "/";
  for (const fs::path& part : path.lexically_normal()) {
    if (part.empty() || part == "/" || part == ".") continue;
    if (part == "..") {
      out = out.parent_path();
      continue;
    }
    out /= part;
  }
  return out;
}

int SimDisk::fault(DiskOp op, const fs::path& path) {
  const std::string p = normal(path).string();
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op) continue;
    if (!it->path.empty()) {
      const std::string f = it->path.string();
      const bool under = p.size() > f.size() && p.compare(0, f.size(), f) == 0 &&
                         (f.back() == '/' || p[f.size()] == '/');
      if (p != f && !under) continue;
    }
    const int err = it->error;
    if (it->times > 0 && --it->times == 0) faults_.erase(it);
    ++stats_.faults;
    return err;
  }
  return 0;
}

void SimDisk::inject(Fault fault) {
  if (!fault.path.empty()) fault.path = normal(fault.path);
  faults_.push_back(std::move(fault));
}

void SimDisk::clear_faults() {
  faults_.clear();
}

Result<SimDisk::NodePtr> SimDisk::find(const fs::path& path) const {
  NodePtr node = root_;
  for (const fs::path& part : normal(path)) {
    if (part == "/") continue;
    if (!node->directory) return errno_code(ENOTDIR);
    auto it = node->entries.find(part.string());
    if (it == node->entries.end()) return errno_code(ENOENT);
    node = it->second;
  }
  return node;
}

Result<std::pair<SimDisk::NodePtr, std::string>> SimDisk::parent_of(const fs::path& path) const {
  const fs::path p = normal(path);
  auto dir = find(p.parent_path());
  if (!dir) return dir.error();
  if (!(*dir)->directory) return errno_code(ENOTDIR);
  return std::pair<NodePtr, std::string>{*dir, p == "/" ? std::string() : p.filename().string()};
}

void SimDisk::change_directory(const NodePtr& dir,
                               std::vector<std::pair<std::string, NodePtr>> edits) {
  for (const auto& [name, node] : edits) {
    if (node) {
      dir->entries[name] = node;
    } else {
      dir->entries.erase(name);
    }
  }
  pending_.push_back({dir, std::move(edits)});
}

void SimDisk::sync_entries(Node& dir) {
  dir.durable_entries = dir.entries;
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const DirectoryChange& c) { return c.dir.get() == &dir; }),
                 pending_.end());
}

void SimDisk::sync_everything() {
  std::vector<Node*> stack{root_.get()};
  std::set<Node*> seen;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (!seen.insert(node).second) continue;
    if (node->directory) {
      node->durable_entries = node->entries;
      for (const auto& [name, child] : node->entries) stack.push_back(child.get());
    } else {
      for (const Change& change : node->unsynced) apply(node->durable, change);
      node->unsynced.clear();
    }
  }
  pending_.clear();
}

std::uint64_t SimDisk::used_bytes() const {
  std::uint64_t used = 0;
  std::vector<const Node*> stack{root_.get()};
  std::set<const Node*> seen;
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    if (!seen.insert(node).second) continue;
    used += node->data.size();
    for (const auto& [name, child] : node->entries) stack.push_back(child.get());
  }
  return used;
}

std::uint64_t SimDisk::room() const {
  if (options_.capacity == std::numeric_limits<std::uint64_t>::max()) return options_.capacity;
  const std::uint64_t used = used_bytes();
  return options_.capacity > used ? options_.capacity - used : 0;
}

void SimDisk::apply(std::vector<std::uint8_t>& data, const Change& change) {
  if (change.truncate) {
    data.resize(static_cast<std::size_t>(change.offset));
    return;
  }
  const auto offset = static_cast<std::size_t>(change.offset);
  if (data.size() < offset + change.bytes.size()) data.resize(offset + change.bytes.size());
  std::copy(change.bytes.begin(), change.bytes.end(), data.begin() + static_cast<std::ptrdiff_t>(offset));
}

bool SimDisk::chance(unsigned percent) {
  return percent > 0 && random_() % 100 < percent;
}

// ---- crash ----------------------------------------------------------------------------------

void SimDisk::crash() {
  ++stats_.crashes;
  ++epoch_;  // every handle dies with the process
  locked_.clear();
  // The journal commits directory changes in order: a prefix of them survives.
  bool keeping = true;
  for (const DirectoryChange& change : pending_) {
    keeping = keeping && chance(options_.crash_keeps_directory_change);
    if (!keeping) {
      ++stats_.directory_changes_lost;
      continue;
    }
    ++stats_.directory_changes_kept;
    for (const auto& [name, node] : change.edits) {
      if (node) {
        change.dir->durable_entries[name] = node;
      } else {
        change.dir->durable_entries.erase(name);
      }
    }
  }
  pending_.clear();
  // What the durable tree reaches is what the disk holds after the reboot.
  std::vector<Node*> stack{root_.get()};
  std::set<Node*> seen;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (!seen.insert(node).second) continue;
    if (node->directory) {
      node->entries = node->durable_entries;
      for (const auto& [name, child] : node->entries) stack.push_back(child.get());
    } else {
      crash_file(*node);
    }
  }
}

void SimDisk::crash_file(Node& file) {
  std::size_t last_write = file.unsynced.size();
  for (std::size_t i = 0; i < file.unsynced.size(); ++i)
    if (!file.unsynced[i].truncate) last_write = i;
  for (std::size_t i = 0; i < file.unsynced.size(); ++i) {
    Change& change = file.unsynced[i];
    if (i == last_write && change.bytes.size() > 1 && chance(options_.crash_tears_write)) {
      // The cut fell inside this write: a prefix of it reached the disk.
      change.bytes.resize(1 + static_cast<std::size_t>(random_() % (change.bytes.size() - 1)));
      apply(file.durable, change);
      ++stats_.writes_torn;
    } else if (chance(options_.crash_keeps_write)) {
      apply(file.durable, change);
      ++stats_.writes_kept;
    } else {
      ++stats_.writes_lost;
    }
  }
  file.unsynced.clear();
  file.data = file.durable;
}

// ---- the FileSystem calls -------------------------------------------------------------------

Result<std::unique_ptr<storage::File>> SimDisk::open(const fs::path& path, OpenMode mode) {
  if (int err = fault(mode == OpenMode::create ? DiskOp::create : DiskOp::open, path))
    return errno_code(err);
  auto parent = parent_of(path);
  if (!parent) return parent.error();
  const auto& [dir, name] = *parent;
  if (name.empty()) return errno_code(EISDIR);
  NodePtr node;
  if (auto it = dir->entries.find(name); it != dir->entries.end()) {
    node = it->second;
    if (node->directory) return errno_code(EISDIR);
    if (mode == OpenMode::create) {
      Change change{0, {}, true};
      apply(node->data, change);
      node->unsynced.push_back(std::move(change));
    }
  } else {
    if (mode != OpenMode::create) return errno_code(ENOENT);
    node = std::make_shared<Node>();
    change_directory(dir, {{name, node}});
  }
  return std::unique_ptr<storage::File>(
      std::make_unique<Handle>(*this, std::move(node), normal(path), mode != OpenMode::read));
}

Result<void> SimDisk::make_directories(const fs::path& dir) {
  if (int err = fault(DiskOp::make_directory, dir)) return errno_code(err);
  NodePtr node = root_;
  for (const fs::path& part : normal(dir)) {
    if (part == "/") continue;
    if (auto it = node->entries.find(part.string()); it != node->entries.end()) {
      if (!it->second->directory) return errno_code(ENOTDIR);
      node = it->second;
      continue;
    }
    auto child = std::make_shared<Node>();
    child->directory = true;
    change_directory(node, {{part.string(), child}});
    sync_entries(*node);  // as PosixFileSystem syncs the parent of what it creates
    ++stats_.directory_syncs;
    node = std::move(child);
  }
  return {};
}

Result<std::vector<std::string>> SimDisk::list(const fs::path& dir) {
  if (int err = fault(DiskOp::list, dir)) return errno_code(err);
  auto node = find(dir);
  if (!node) return node.error();
  if (!(*node)->directory) return errno_code(ENOTDIR);
  std::vector<std::string> names;
  for (const auto& [name, child] : (*node)->entries) names.push_back(name);
  return names;
}

Result<void> SimDisk::rename(const fs::path& from, const fs::path& to) {
  if (int err = fault(DiskOp::rename, from)) return errno_code(err);
  if (int err = fault(DiskOp::rename, to)) return errno_code(err);
  auto source = parent_of(from);
  if (!source) return source.error();
  auto target = parent_of(to);
  if (!target) return target.error();
  const auto& [from_dir, from_name] = *source;
  const auto& [to_dir, to_name] = *target;
  if (from_name.empty() || to_name.empty()) return errno_code(EBUSY);
  auto it = from_dir->entries.find(from_name);
  if (it == from_dir->entries.end()) return errno_code(ENOENT);
  if (it->second->directory) return errno_code(EISDIR);
  if (auto there = to_dir->entries.find(to_name);
      there != to_dir->entries.end() && there->second->directory) {
    return errno_code(EISDIR);
  }
  if (normal(from) == normal(to)) return {};
  NodePtr node = it->second;
  if (from_dir == to_dir) {
    change_directory(from_dir, {{to_name, node}, {from_name, nullptr}});  // one atomic change
  } else {
    change_directory(to_dir, {{to_name, node}});
    change_directory(from_dir, {{from_name, nullptr}});
  }
  return {};
}

Result<void> SimDisk::remove(const fs::path& path) {
  if (int err = fault(DiskOp::remove, path)) return errno_code(err);
  auto parent = parent_of(path);
  if (!parent) return parent.error();
  const auto& [dir, name] = *parent;
  auto it = dir->entries.find(name);
  if (name.empty() || it == dir->entries.end()) return errno_code(ENOENT);
  if (it->second->directory) return errno_code(EISDIR);
  change_directory(dir, {{name, nullptr}});
  return {};
}

Result<void> SimDisk::sync_directory(const fs::path& dir) {
  if (int err = fault(DiskOp::sync_directory, dir)) return errno_code(err);
  auto node = find(dir);
  if (!node) return node.error();
  if (!(*node)->directory) return errno_code(ENOTDIR);
  sync_entries(**node);
  ++stats_.directory_syncs;
  return {};
}

Result<std::unique_ptr<storage::FileLock>> SimDisk::lock(const fs::path& path) {
  if (int err = fault(DiskOp::lock, path)) return errno_code(err);
  auto parent = parent_of(path);
  if (!parent) return parent.error();
  const auto& [dir, name] = *parent;
  if (name.empty()) return errno_code(EISDIR);
  NodePtr node;
  if (auto it = dir->entries.find(name); it != dir->entries.end()) {
    node = it->second;
    if (node->directory) return errno_code(EISDIR);
  } else {
    node = std::make_shared<Node>();
    change_directory(dir, {{name, node}});
  }
  if (!locked_.insert(node.get()).second) return errno_code(EWOULDBLOCK);
  return std::unique_ptr<storage::FileLock>(std::make_unique<Lock>(*this, std::move(node)));
}

}  // namespace peermq::sim
