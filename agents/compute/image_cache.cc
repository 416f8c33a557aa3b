// ImageCache: the _base/ download (single-flight, verified, atomic), overlays
// through qemu-img, and aging from the overlays' qcow2 headers.
#include "agents/compute/image_cache.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "agents/compute/subprocess.h"
#include "core/utf8.h"

namespace chronova {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = 1 << 20;
constexpr int64_t kGiB = int64_t{1} << 30;
// A temp file in _base/ is "<.><sha1>.part-<uuid>[.raw]".
constexpr const char* kPartInfix = ".part-";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Sha1Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha1(), nullptr);
  return LowerHex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

struct DigestCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~DigestCtx() { EVP_MD_CTX_free(ctx); }
  std::string Final() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    return LowerHex(std::string_view(reinterpret_cast<const char*>(digest), len));
  }
};

Status WriteAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(Errno("write " + path));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status FsyncPath(const std::string& path, int flags) {
  Fd f(::open(path.c_str(), flags | O_CLOEXEC));
  if (f.fd < 0) return Status::Internal(Errno("open " + path));
  if (::fsync(f.fd) != 0) return Status::Internal(Errno("fsync " + path));
  return Status::Ok();
}

// Sets a file's atime and mtime to `now`: a base's mtime is when it was last used.
void Touch(const std::string& path, Timestamp now) {
  timespec t;
  t.tv_sec = now.micros / 1000000;
  t.tv_nsec = (now.micros % 1000000) * 1000;
  const timespec times[2] = {t, t};
  ::utimensat(AT_FDCWD, path.c_str(), times, 0);
}

// qemu-img's name for a Glance disk_format it can convert to raw; "" for raw
// (and formats that are raw bytes: iso, ami, aki, ari).
std::string QemuFormat(const std::string& disk_format) {
  if (disk_format == "qcow2" || disk_format == "vmdk" || disk_format == "vdi" ||
      disk_format == "vhdx") {
    return disk_format;
  }
  if (disk_format == "vhd") return "vpc";
  return "";
}

// The format of an image whose record does not say: qcow2 by its magic, else raw.
std::string SniffFormat(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char magic[4] = {0, 0, 0, 0};
  if (f.fd < 0 || ::pread(f.fd, magic, 4, 0) != 4) return "";
  return magic[0] == 'Q' && magic[1] == 'F' && magic[2] == 'I' && magic[3] == 0xfb
             ? "qcow2"
             : "";
}

uint64_t BigEndian(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<std::string> Qcow2BackingFile(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) {
    if (errno == ENOENT) return Status::NotFound(Errno("open " + path));
    return Status::Internal(Errno("open " + path));
  }
  // Header: magic(4) version(4) backing_file_offset(8) backing_file_size(4), big-endian.
  unsigned char h[20];
  if (::pread(f.fd, h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h)) || h[0] != 'Q' ||
      h[1] != 'F' || h[2] != 'I' || h[3] != 0xfb) {
    return Status::InvalidArgument(path + " is not a qcow2 image");
  }
  const uint64_t offset = BigEndian(h + 8, 8);
  const uint64_t size = BigEndian(h + 16, 4);
  if (offset == 0 || size == 0) return std::string();
  if (size > 1023) return Status::InvalidArgument(path + ": backing file name too long");
  std::string name(size, '\0');
  if (::pread(f.fd, name.data(), size, static_cast<off_t>(offset)) !=
      static_cast<ssize_t>(size)) {
    return Status::InvalidArgument(path + ": truncated qcow2 header");
  }
  return name;
}

struct ImageCache::Download {
  bool done = false;  // guarded by ImageCache::mu_
  Status status;
  std::condition_variable cv;  // waits on ImageCache::mu_
};

ImageCache::ImageCache(std::string instances_path, const ImageSource* source,
                       ImageCacheOptions options)
    : instances_path_(fs::absolute(instances_path).lexically_normal().string()),
      source_(source),
      options_(std::move(options)) {}

std::string ImageCache::BasePath(const ImageId& id) const {
  return base_dir() + "/" + Sha1Hex(id.str());
}

std::string ImageCache::InstanceDir(const InstanceId& id) const {
  return instances_path_ + "/" + id.str();
}

Result<std::string> ImageCache::Fetch(const ImageId& id) {
  const std::string path = BasePath(id);
  std::shared_ptr<Download> download;
  {
    std::unique_lock<std::mutex> l(mu_);
    auto it = downloads_.find(path);
    if (it != downloads_.end()) {
      download = it->second;
      download->cv.wait(l, [&] { return download->done; });
      if (!download->status.ok()) return download->status;
      return path;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      Touch(path, options_.env->Now());  // under mu_: Age cannot remove it now
      return path;
    }
    download = std::make_shared<Download>();
    downloads_[path] = download;
  }
  Status st = DownloadTo(id, path);
  {
    std::lock_guard<std::mutex> l(mu_);
    download->done = true;
    download->status = st;
    downloads_.erase(path);
  }
  download->cv.notify_all();
  if (!st.ok()) return st;
  return path;
}

Status ImageCache::DownloadTo(const ImageId& id, const std::string& path) {
  const std::string context = "fetch image " + id.str();
  std::error_code ec;
  fs::create_directories(base_dir(), ec);
  if (ec)
    return Status::Internal(context + ": create " + base_dir() + ": " + ec.message());
  Result<ImageBlob> opened = source_->Open(id);
  if (!opened.ok()) return opened.status().WithContext(context);
  const ImageBlob& blob = *opened;
  if (blob.path.empty()) {
    return Status::InvalidArgument(context + ": the image has no data");
  }
  const std::string part = base_dir() + "/." + fs::path(path).filename().string() +
                           kPartInfix + options_.env->NewUuid();
  const std::string raw_part = part + ".raw";
  // Whatever happens below, no temp file stays behind.
  struct Cleanup {
    std::vector<std::string> files;
    ~Cleanup() {
      for (const std::string& f : files) ::unlink(f.c_str());
    }
  } cleanup{{part, raw_part}};

  // Copy, hashing what is written.
  {
    Fd in(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) return Status::Internal(Errno(context + ": open " + blob.path));
    Fd out(::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (out.fd < 0) return Status::Internal(Errno(context + ": create " + part));
    DigestCtx md5, sha512;
    EVP_DigestInit_ex(md5.ctx, EVP_md5(), nullptr);
    EVP_DigestInit_ex(sha512.ctx, EVP_sha512(), nullptr);
    std::vector<char> buf(kChunk);
    int64_t copied = 0;
    while (true) {
      const ssize_t n = ::read(in.fd, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::Internal(Errno(context + ": read " + blob.path));
      }
      if (n == 0) break;
      EVP_DigestUpdate(md5.ctx, buf.data(), static_cast<size_t>(n));
      EVP_DigestUpdate(sha512.ctx, buf.data(), static_cast<size_t>(n));
      CHRONOVA_RETURN_IF_ERROR(WriteAll(out.fd, buf.data(), static_cast<size_t>(n), part)
                                   .WithContext(context));
      copied += n;
    }
    if (blob.size > 0 && copied != blob.size) {
      return Status::Corruption(context + ": got " + std::to_string(copied) +
                                " bytes, the image has " + std::to_string(blob.size));
    }
    const std::string got_md5 = md5.Final();
    if (!blob.checksum.empty() && got_md5 != Lower(blob.checksum)) {
      return Status::Corruption(context + ": md5 " + got_md5 +
                                " does not match the image's " + blob.checksum);
    }
    const std::string got_sha512 = sha512.Final();
    if (!blob.os_hash_value.empty() && got_sha512 != Lower(blob.os_hash_value)) {
      return Status::Corruption(context +
                                ": sha512 does not match the image's os_hash_value");
    }
  }

  // force_raw_images: every base is raw, so every overlay is "-F raw".
  const std::string format =
      blob.disk_format.empty() ? SniffFormat(part) : QemuFormat(blob.disk_format);
  std::string ready = part;
  if (!format.empty()) {
    // Like Nova's fetch_to_raw: an image that points at other files (a backing
    // file, an external data file) would read the host's files; refuse it.
    Result<std::string> info =
        RunProgram({options_.qemu_img, "info", "-f", format, "--output=json", part});
    if (!info.ok()) return info.status().WithContext(context);
    if (info->find("\"backing-filename\"") != std::string::npos ||
        info->find("\"data-file\"") != std::string::npos) {
      return Status::InvalidArgument(
          context + ": the image refers to other files (backing or data file)");
    }
    CHRONOVA_RETURN_IF_ERROR(RunProgram({options_.qemu_img, "convert", "-f", format, "-O",
                                         "raw", part, raw_part})
                                 .status()
                                 .WithContext(context));
    ready = raw_part;
  }
  CHRONOVA_RETURN_IF_ERROR(FsyncPath(ready, O_RDONLY).WithContext(context));
  if (::rename(ready.c_str(), path.c_str()) != 0) {
    return Status::Internal(Errno(context + ": rename " + ready + " to " + path));
  }
  CHRONOVA_RETURN_IF_ERROR(
      FsyncPath(base_dir(), O_RDONLY | O_DIRECTORY).WithContext(context));
  Touch(path, options_.env->Now());
  return Status::Ok();
}

std::string ImageCache::DiskBus(const ImageId& id) const {
  Result<ImageBlob> blob = source_->Open(id);
  if (!blob.ok()) return "";
  auto it = blob->properties.find("hw_disk_bus");
  return it == blob->properties.end() ? "" : it->second;
}

Status ImageCache::CreateOverlay(const std::string& base, const std::string& disk_path,
                                 int32_t root_gb) {
  const std::string context = "create disk " + disk_path;
  struct stat st {};
  if (::stat(base.c_str(), &st) != 0)
    return Status::NotFound(Errno(context + ": base " + base));
  std::vector<std::string> argv = {
      options_.qemu_img,           "create", "-q", "-f", "qcow2", "-b",
      fs::absolute(base).string(), "-F",     "raw"};
  const std::string part = disk_path + ".part";
  argv.push_back(part);
  const int64_t wanted = static_cast<int64_t>(std::max(root_gb, 0)) * kGiB;
  if (wanted > st.st_size) argv.push_back(std::to_string(wanted));
  ::unlink(part.c_str());
  Result<std::string> r = RunProgram(argv);
  if (!r.ok()) {
    ::unlink(part.c_str());
    return r.status().WithContext(context);
  }
  if (::rename(part.c_str(), disk_path.c_str()) != 0) {
    Status failed = Status::Internal(Errno(context + ": rename " + part));
    ::unlink(part.c_str());
    return failed;
  }
  return Status::Ok();
}

Result<std::string> ImageCache::CreateDisk(const ImageId& id,
                                           const std::string& disk_path,
                                           int32_t root_gb) {
  const std::string base = BasePath(id);
  {
    std::lock_guard<std::mutex> l(mu_);
    ++pins_[base];
  }
  Result<std::string> fetched = Fetch(id);
  Status st = fetched.ok() ? CreateOverlay(base, disk_path, root_gb) : fetched.status();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (--pins_[base] == 0) pins_.erase(base);
  }
  if (!st.ok()) return st;
  return base;
}

Status ImageCache::Age() {
  std::error_code ec;
  if (!fs::exists(base_dir(), ec)) return Status::Ok();
  // The bases this host's instance disks are backed by.
  std::set<std::string> in_use;
  for (const fs::directory_entry& e : fs::directory_iterator(instances_path_, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "_base" || name.starts_with(".") || !e.is_directory(ec)) continue;
    // A rescued guest's disk.rescue holds its rescue image's base too.
    for (const char* disk : {"disk", "disk.rescue"}) {
      Result<std::string> backing = Qcow2BackingFile((e.path() / disk).string());
      if (!backing.ok() || backing->empty()) continue;
      fs::path b(*backing);
      if (b.is_relative()) b = e.path() / b;
      in_use.insert(b.lexically_normal().string());
    }
  }
  if (ec)
    return Status::Internal("age image cache: list " + instances_path_ + ": " +
                            ec.message());

  const Timestamp now = options_.env->Now();
  const int64_t min_age_us = options_.remove_unused_original_minimum_age_s * 1000000;
  std::lock_guard<std::mutex> l(mu_);
  std::vector<fs::path> bases;
  for (const fs::directory_entry& e : fs::directory_iterator(base_dir(), ec)) {
    bases.push_back(e.path());
  }
  if (ec)
    return Status::Internal("age image cache: list " + base_dir() + ": " + ec.message());
  for (const fs::path& p : bases) {
    const std::string name = p.filename().string();
    const std::string path = p.string();
    if (name.starts_with(".")) {
      // A temp file: stale unless its download is still running.
      const size_t infix = name.find(kPartInfix);
      const std::string owner =
          base_dir() + "/" + name.substr(1, infix == std::string::npos ? 0 : infix - 1);
      if (!downloads_.contains(owner)) ::unlink(path.c_str());
      continue;
    }
    if (in_use.contains(path)) {
      Touch(path, now);
      continue;
    }
    if (downloads_.contains(path) || pins_.contains(path)) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    const int64_t used_us =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
    if (now.micros - used_us < min_age_us) continue;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::Internal(Errno("age image cache: remove " + path));
    }
  }
  return Status::Ok();
}

}  // namespace chronova
