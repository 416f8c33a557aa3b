// The compute host's image cache on real files with the real qemu-img: one
// verified download per image into _base/, raw bases, qcow2 overlays on them,
// aging of unused bases; and a compute agent (libvirt test driver) that builds
// and deletes guests with overlay disks.
#include "agents/compute/image_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "agents/compute/subprocess.h"
#include "api/service/compute_service.h"
#include "api/image/image_service.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `size` bytes of a recognizable pattern.
void WritePattern(const std::string& path, size_t size, char seed = 'a') {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(seed + (i * 7) % 23);
  std::ofstream(path, std::ios::binary) << data;
}

std::string QemuImgInfo(const std::string& path) {
  Result<std::string> out = RunProgram({"qemu-img", "info", "--output=json", "-U", path});
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  return *out;
}

// An ImageSource over files in a scratch directory; counts Open calls, and
// makes each Open slow enough that concurrent Fetches overlap. With
// MeetInOpen(n), each Open also waits until n Opens are under way at once, so a
// cache that serialized them would be seen doing it.
class FileSource : public ImageSource {
 public:
  void Add(const std::string& id, const std::string& path, const std::string& disk_format,
           bool with_sha512 = true) {
    ImageBlob b;
    b.id = ImageId(id);
    b.path = path;
    b.size = static_cast<int64_t>(fs::file_size(path));
    b.checksum = FileDigest("md5sum", path);
    if (with_sha512) b.os_hash_value = FileDigest("sha512sum", path);
    b.disk_format = disk_format;
    blobs_[id] = b;
  }
  ImageBlob& blob(const std::string& id) { return blobs_.at(id); }
  // REQUIRES: no Open has started.
  void MeetInOpen(int n) { meet_ = n; }
  Result<ImageBlob> Open(const ImageId& id) const override {
    opens_.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (meet_ > 0) {
      std::unique_lock<std::mutex> l(mu_);
      ++in_open_;
      most_in_open_ = std::max(most_in_open_, in_open_);
      cv_.notify_all();
      // The timeout only keeps a serializing cache from hanging the test.
      cv_.wait_for(l, std::chrono::seconds(5), [&] { return most_in_open_ >= meet_; });
      --in_open_;
    }
    auto it = blobs_.find(id.str());
    if (it == blobs_.end()) return Status::NotFound("no image " + id.str());
    return it->second;
  }
  int opens() const { return opens_.load(); }
  // The most Opens that were under way at once (with MeetInOpen only).
  int most_in_open() const {
    std::lock_guard<std::mutex> l(mu_);
    return most_in_open_;
  }

 private:
  std::map<std::string, ImageBlob> blobs_;
  mutable std::atomic<int> opens_{0};
  int meet_ = 0;
  mutable std::mutex mu_;  // protects in_open_, most_in_open_
  mutable std::condition_variable cv_;
  mutable int in_open_ = 0;
  mutable int most_in_open_ = 0;
};

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

}  // namespace

TEST_CASE("image cache: eight concurrent fetches of one image download it once") {
  TempDir dir;
  WritePattern(dir.Sub("img"), 3 << 20);
  FileSource source;
  source.Add("img-1", dir.Sub("img"), "raw");
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});

  std::vector<Result<std::string>> results(8, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { results[i] = cache.Fetch(ImageId("img-1")); });
  }
  for (auto& t : threads) t.join();

  // sha1("img-1")
  const std::string base =
      dir.Sub("instances") + "/_base/" + "3c9875d4ce035043f843d25f28119ae501bdd661";
  for (const auto& r : results) {
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    CHECK(*r == base);
  }
  CHECK(source.opens() == 1);
  CHECK(ReadAll(base) == ReadAll(dir.Sub("img")));
  // Only the base: no temp file is left.
  CHECK(Files(cache.base_dir()) == std::vector<std::string>{fs::path(base).filename()});
  // A later fetch finds it without asking the source.
  REQUIRE(cache.Fetch(ImageId("img-1")).ok());
  CHECK(source.opens() == 1);
}

TEST_CASE("image cache: different images download in parallel") {
  TempDir dir;
  FileSource source;
  for (int i = 0; i < 4; ++i) {
    const std::string f = dir.Sub("img" + std::to_string(i));
    WritePattern(f, 1 << 20, static_cast<char>('a' + i));
    source.Add("img-" + std::to_string(i), f, "raw");
  }
  // Each download's Open returns only once all four are under way.
  source.MeetInOpen(4);
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back(
        [&, i] { ok += cache.Fetch(ImageId("img-" + std::to_string(i))).ok(); });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 4);
  CHECK(source.opens() == 4);
  CHECK(source.most_in_open() == 4);
}

TEST_CASE(
    "image cache: a checksum mismatch fails the fetch and leaves nothing in _base") {
  TempDir dir;
  WritePattern(dir.Sub("img"), 1 << 20);
  FileSource source;
  source.Add("bad-md5", dir.Sub("img"), "raw");
  source.blob("bad-md5").checksum = "00000000000000000000000000000000";
  source.Add("bad-sha512", dir.Sub("img"), "raw");
  source.blob("bad-sha512").os_hash_value = std::string(128, '0');
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});

  auto md5 = cache.Fetch(ImageId("bad-md5"));
  REQUIRE_FALSE(md5.ok());
  CHECK(md5.status().IsCorruption());
  CHECK(md5.status().message().find("md5") != std::string::npos);
  auto sha = cache.Fetch(ImageId("bad-sha512"));
  REQUIRE_FALSE(sha.ok());
  CHECK(sha.status().IsCorruption());
  CHECK(Files(cache.base_dir()).empty());
  // Unknown images: the source's NotFound.
  CHECK(cache.Fetch(ImageId("nope")).status().IsNotFound());
  CHECK(Files(cache.base_dir()).empty());
}

TEST_CASE("image cache: a qcow2 image becomes a raw base (force_raw_images)") {
  TempDir dir;
  WritePattern(dir.Sub("raw"), 2 << 20);
  REQUIRE(RunProgram({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", dir.Sub("raw"),
                      dir.Sub("qcow2")})
              .ok());
  FileSource source;
  source.Add("q", dir.Sub("qcow2"), "qcow2");
  // A snapshot uploaded without a disk_format is recognized by its header.
  source.Add("q-unlabelled", dir.Sub("qcow2"), "", /*with_sha512=*/false);
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});
  for (const char* id : {"q", "q-unlabelled"}) {
    auto base = cache.Fetch(ImageId(id));
    INFO(base.status().ToString());
    REQUIRE(base.ok());
    CHECK(QemuImgInfo(*base).find("\"format\": \"raw\"") != std::string::npos);
    CHECK(ReadAll(*base) == ReadAll(dir.Sub("raw")));
  }
  CHECK(Files(cache.base_dir()).size() == 2);
}

TEST_CASE("image cache: a qcow2 image with a backing file is refused") {
  TempDir dir;
  WritePattern(dir.Sub("host-secret"), 1 << 20);
  REQUIRE(RunProgram({"qemu-img", "create", "-q", "-f", "qcow2", "-b",
                      dir.Sub("host-secret"), "-F", "raw", dir.Sub("evil")})
              .ok());
  FileSource source;
  source.Add("evil", dir.Sub("evil"), "qcow2");
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});
  auto base = cache.Fetch(ImageId("evil"));
  REQUIRE_FALSE(base.ok());
  CHECK(base.status().message().find("backing") != std::string::npos);
  CHECK(Files(cache.base_dir()).empty());
}

TEST_CASE("image cache: an overlay is a qcow2 backed by the raw base, sized to root_gb") {
  TempDir dir;
  WritePattern(dir.Sub("img"), 3 << 20);
  FileSource source;
  source.Add("img", dir.Sub("img"), "raw");
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});
  auto base = cache.Fetch(ImageId("img"));
  REQUIRE(base.ok());
  fs::create_directories(dir.Sub("instances/vm1"));
  const std::string disk = dir.Sub("instances/vm1/disk");
  REQUIRE(cache.CreateOverlay(*base, disk, 1).ok());
  const std::string info = QemuImgInfo(disk);
  CHECK(info.find("\"format\": \"qcow2\"") != std::string::npos);
  CHECK(info.find("\"backing-filename\": \"" + *base + "\"") != std::string::npos);
  CHECK(info.find("\"backing-filename-format\": \"raw\"") != std::string::npos);
  CHECK(info.find("\"virtual-size\": 1073741824") != std::string::npos);
  CHECK(Qcow2BackingFile(disk).value() == *base);

  // root_gb 0 (or smaller than the image): the base's size.
  const std::string small = dir.Sub("instances/vm1/small");
  REQUIRE(cache.CreateOverlay(*base, small, 0).ok());
  CHECK(QemuImgInfo(small).find("\"virtual-size\": " + std::to_string(3 << 20)) !=
        std::string::npos);
  // A missing base: NotFound, and no disk.
  CHECK(cache.CreateOverlay(dir.Sub("nothing"), dir.Sub("instances/vm1/x"), 1)
            .IsNotFound());
  CHECK_FALSE(fs::exists(dir.Sub("instances/vm1/x")));
}

TEST_CASE("image cache: aging removes only bases that are unused and old enough") {
  TempDir dir;
  FileSource source;
  for (const char* id : {"used", "unused", "young"}) {
    WritePattern(dir.Sub(id), 1 << 20, id[0]);
    source.Add(id, dir.Sub(id), "raw");
  }
  FakeEnv env(1, Timestamp{int64_t{1767225600} * 1000000});
  ImageCacheOptions options;
  options.env = &env;
  options.remove_unused_original_minimum_age_s = 3600;
  ImageCache cache(dir.Sub("instances"), &source, options);
  const std::string used = cache.Fetch(ImageId("used")).value();
  const std::string unused = cache.Fetch(ImageId("unused")).value();
  fs::create_directories(cache.InstanceDir(InstanceId("vm1")));
  REQUIRE(
      cache.CreateOverlay(used, cache.InstanceDir(InstanceId("vm1")) + "/disk", 1).ok());

  // Nothing is old yet.
  REQUIRE(cache.Age().ok());
  CHECK(fs::exists(used));
  CHECK(fs::exists(unused));

  env.AdvanceMicros(int64_t{7200} * 1000000);
  const std::string young = cache.Fetch(ImageId("young")).value();
  // A temp file an interrupted download left behind.
  std::ofstream(cache.base_dir() + "/.deadbeef.part-1234") << "partial";
  REQUIRE(cache.Age().ok());
  CHECK(fs::exists(used));  // backs vm1's disk, however old
  CHECK_FALSE(fs::exists(unused));
  CHECK(fs::exists(young));  // unused, but fetched within the minimum age
  CHECK_FALSE(fs::exists(cache.base_dir() + "/.deadbeef.part-1234"));

  // Once the instance is gone, its base ages from its last use.
  fs::remove_all(cache.InstanceDir(InstanceId("vm1")));
  env.AdvanceMicros(int64_t{1800} * 1000000);
  REQUIRE(cache.Age().ok());
  CHECK(fs::exists(used));  // used 30 minutes ago
  env.AdvanceMicros(int64_t{3600} * 1000000);
  REQUIRE(cache.Age().ok());
  CHECK_FALSE(fs::exists(used));
  CHECK_FALSE(fs::exists(young));
}

namespace {

// Uploads `path` as a new image of the demo project; returns its id.
ImageId UploadImage(Node& node, const std::string& path, const std::string& disk_format,
                    const std::map<std::string, std::string>& properties = {}) {
  static std::atomic<int> uploads{0};
  NewImage ni;
  ni.name = "disk-image";
  ni.disk_format = disk_format;
  ni.properties = properties;
  ni.container_format = "bare";
  auto created = node.image()->Create(MemberContext(), ni);
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  const std::string incoming =
      node.image()->IncomingDir() + "/test-upload-" + std::to_string(uploads++);
  fs::copy_file(path, incoming);
  auto up = node.image()->Upload(MemberContext(), created->image.image_id, incoming,
                                 fs::file_size(path));
  INFO(up.status().ToString());
  REQUIRE(up.ok());
  return created->image.image_id;
}

template <typename Pred>
Result<InstanceState> WaitFor(Node& node, const InstanceId& id, Pred pred) {
  RequestContext admin{
      UserId("admin"), ProjectId("admin"), {"admin"}, RequestId("req-x")};
  Result<InstanceState> s = Status::Internal("not polled");
  for (int i = 0; i < 1000; ++i) {
    s = node.compute()->GetServer(admin, id);
    if (pred(s)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return s;
}

NodeOptions DiskCloudOptions(const TempDir& dir) {
  NodeOptions o = FakeCloudOptions(dir, 1, 4, 4096);
  o.compute.hypervisor = "libvirt";
  o.compute.image_cache_on_test_hosts = true;
  return o;
}

bool HasEvent(Node& node, const InstanceId& id, const std::string& type) {
  auto events = ReadWholeStream(*node.log(), InstanceStream(id));
  if (!events.ok()) return false;
  for (const Envelope& e : *events) {
    if (e.type == type) return true;
  }
  return false;
}

bool IsActive(const Result<InstanceState>& s) {
  return s.ok() && ApiStatus(*s) == "ACTIVE";
}

InstanceId Boot(Node& node, const std::string& image) {
  CreateServerRequest req;
  req.name = "with-disk";
  req.flavor_ref = "1";  // m1.tiny: root_gb 1
  req.image_ref = image;
  auto r = node.compute()->CreateServers(MemberContext(), req);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r->servers.at(0).id;
}

}  // namespace

TEST_CASE(
    "compute agent with an image cache: a guest gets an overlay disk, delete removes "
    "it") {
  TempDir dir;
  NodeOptions o = FakeCloudOptions(dir, 1, 4, 4096);
  o.compute.hypervisor = "libvirt";
  o.compute.image_cache_on_test_hosts = true;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  WritePattern(dir.Sub("img"), 2 << 20);
  REQUIRE(RunProgram({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", dir.Sub("img"),
                      dir.Sub("img.qcow2")})
              .ok());
  const ImageId image = UploadImage(*node, dir.Sub("img.qcow2"), "qcow2");

  const InstanceId id = Boot(*node, image.str());
  auto s =
      WaitFor(*node, id, [](auto& s) { return s.ok() && ApiStatus(*s) == "ACTIVE"; });
  INFO((s.ok() ? std::string(ApiStatus(*s)) + " " + s->fault.message
               : s.status().ToString()));
  REQUIRE(s.ok());
  REQUIRE(ApiStatus(*s) == "ACTIVE");

  const std::string instances = node->instances_path(0);
  CHECK(instances == dir.Sub("state") + "/instances");
  const std::string inst_dir = instances + "/" + id.str();
  const std::string disk = inst_dir + "/disk";
  const std::string base = Qcow2BackingFile(disk).value();
  CHECK(fs::path(base).parent_path() == fs::path(instances + "/_base"));
  CHECK(ReadAll(base) == ReadAll(dir.Sub("img")));  // raw
  CHECK(QemuImgInfo(disk).find("\"virtual-size\": 1073741824") != std::string::npos);
  const std::string xml = ReadAll(inst_dir + "/libvirt.xml");
  CHECK(xml.find("<source file='" + disk + "'/>") != std::string::npos);
  CHECK(xml.find("<target dev='vda' bus='virtio'/>") != std::string::npos);
  CHECK(xml.find(inst_dir + "/console.log' append='on'") != std::string::npos);

  // A second instance of the image shares the base.
  const InstanceId second = Boot(*node, image.str());
  REQUIRE(WaitFor(*node, second, [](auto& s) {
            return s.ok() && ApiStatus(*s) == "ACTIVE";
          }).ok());
  CHECK(Qcow2BackingFile(instances + "/" + second.str() + "/disk").value() == base);
  CHECK(Files(instances + "/_base").size() == 1);

  REQUIRE(node->compute()->DeleteServer(MemberContext(), id).ok());
  CHECK(WaitFor(*node, id, [](auto& s) { return s.status().IsNotFound(); })
            .status()
            .IsNotFound());
  CHECK_FALSE(fs::exists(inst_dir));
  CHECK(fs::exists(instances + "/" + second.str() + "/disk"));
  CHECK(fs::exists(base));
}

TEST_CASE("compute agent with an image cache: an image without data fails the build") {
  TempDir dir;
  NodeOptions o = FakeCloudOptions(dir, 1, 4, 4096);
  o.compute.hypervisor = "libvirt";
  o.compute.image_cache_on_test_hosts = true;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  // The seeded demo image is a record without data.
  const InstanceId id = Boot(*node, kDemoImageId);
  auto s = WaitFor(*node, id, [](auto& s) { return s.ok() && ApiStatus(*s) == "ERROR"; });
  REQUIRE(s.ok());
  REQUIRE(ApiStatus(*s) == "ERROR");
  CHECK(s->fault.message.find("fetch image " + std::string(kDemoImageId)) !=
        std::string::npos);
  CHECK_FALSE(fs::exists(node->instances_path(0) + "/" + id.str()));
  CHECK(Files(node->instances_path(0) + "/_base").empty());
}

TEST_CASE("compute agent with an image cache: rebuild gives the guest a new overlay") {
  TempDir dir;
  auto node = Node::Start(DiskCloudOptions(dir)).value();
  WaitHosts(*node, 1);
  WritePattern(dir.Sub("a"), 1 << 20, 'a');
  WritePattern(dir.Sub("b"), 1 << 20, 'b');
  const ImageId a = UploadImage(*node, dir.Sub("a"), "raw");
  const ImageId b = UploadImage(*node, dir.Sub("b"), "raw", {{"hw_disk_bus", "ide"}});
  const InstanceId id = Boot(*node, a.str());
  REQUIRE(IsActive(WaitFor(*node, id, IsActive)));
  const std::string disk = node->instances_path(0) + "/" + id.str() + "/disk";
  const std::string base_a = Qcow2BackingFile(disk).value();
  CHECK(ReadAll(base_a) == ReadAll(dir.Sub("a")));

  REQUIRE(node->compute()
              ->RebuildServer(MemberContext(), id, b.str(), std::nullopt, std::nullopt)
              .ok());
  for (int i = 0; i < 1000 && !HasEvent(*node, id, "instance.rebuilt"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(HasEvent(*node, id, "instance.rebuilt"));
  const std::string base_b = Qcow2BackingFile(disk).value();
  CHECK(base_b != base_a);
  CHECK(ReadAll(base_b) == ReadAll(dir.Sub("b")));
  // The new image asks for an IDE disk.
  const std::string xml =
      ReadAll(node->instances_path(0) + "/" + id.str() + "/libvirt.xml");
  CHECK(xml.find("<target dev='hda' bus='ide'/>") != std::string::npos);
}

TEST_CASE(
    "compute agent with an image cache: the image cache manager ages unused bases") {
  TempDir dir;
  NodeOptions o = DiskCloudOptions(dir);
  o.compute.image_cache_manager_interval_s = 1;
  o.compute.remove_unused_original_minimum_age_s = 0;
  auto node = Node::Start(o).value();
  WaitHosts(*node, 1);
  WritePattern(dir.Sub("a"), 1 << 20, 'a');
  WritePattern(dir.Sub("b"), 1 << 20, 'b');
  const ImageId a = UploadImage(*node, dir.Sub("a"), "raw");
  const ImageId b = UploadImage(*node, dir.Sub("b"), "raw");
  const InstanceId keep = Boot(*node, a.str());
  const InstanceId gone = Boot(*node, b.str());
  REQUIRE(IsActive(WaitFor(*node, keep, IsActive)));
  REQUIRE(IsActive(WaitFor(*node, gone, IsActive)));
  const std::string instances = node->instances_path(0);
  const std::string base_a =
      Qcow2BackingFile(instances + "/" + keep.str() + "/disk").value();
  const std::string base_b =
      Qcow2BackingFile(instances + "/" + gone.str() + "/disk").value();

  REQUIRE(node->compute()->DeleteServer(MemberContext(), gone).ok());
  for (int i = 0; i < 500 && fs::exists(base_b); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_FALSE(fs::exists(base_b));
  CHECK(fs::exists(base_a));  // still backs `keep`'s disk
  CHECK(fs::exists(instances + "/" + keep.str() + "/disk"));
}

TEST_CASE("image cache timings (100 MB fetch, overlay)", "[.][bench]") {
  TempDir dir;
  WritePattern(dir.Sub("img"), size_t{100} << 20);
  FileSource source;
  source.Add("big", dir.Sub("img"), "raw");
  REQUIRE(RunProgram({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", dir.Sub("img"),
                      dir.Sub("img.qcow2")})
              .ok());
  source.Add("big-qcow2", dir.Sub("img.qcow2"), "qcow2");
  ImageCache cache(dir.Sub("instances"), &source, ImageCacheOptions{});
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
  };
  auto t0 = Clock::now();
  auto base = cache.Fetch(ImageId("big"));
  auto t1 = Clock::now();
  REQUIRE(base.ok());
  auto base2 = cache.Fetch(ImageId("big-qcow2"));
  auto t2 = Clock::now();
  REQUIRE(base2.ok());
  REQUIRE(cache.Fetch(ImageId("big")).ok());
  auto t3 = Clock::now();
  fs::create_directories(dir.Sub("instances/vm"));
  REQUIRE(cache.CreateOverlay(*base, dir.Sub("instances/vm/disk"), 1).ok());
  auto t4 = Clock::now();
  WARN("Fetch 100 MiB raw: " << ms(t1 - t0) << " ms; 100 MiB qcow2 (+convert): "
                             << ms(t2 - t1) << " ms; cached Fetch: " << ms(t3 - t2)
                             << " ms; CreateOverlay: " << ms(t4 - t3) << " ms");
}

}  // namespace chronova::testing
