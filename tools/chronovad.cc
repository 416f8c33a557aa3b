// chronovad: the chronova daemon. `chronovad all-in-one` runs the whole control
// plane in one process on the embedded RocksDB log (or a JetStream log);
// `chronovad api|scheduler|conductor|compute` runs one role, on a JetStream
// log and the NATS bus shared with the other roles' processes
// (docs/deployment.md). Each runs until SIGINT or SIGTERM, which stop it cleanly;
// SIGUSR2 restarts the all-in-one without downtime (tools/takeover.h).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>

#include "api/service/quotas.h"
#include "core/env.h"
#include "core/ini_file.h"
#include "eventstore/log_factory.h"
#include "projections/projection_store.h"
#include "tools/flags.h"
#include "tools/node.h"
#include "tools/takeover.h"

namespace chronova {
namespace {

constexpr const char* kUsage =
    "usage: chronovad all-in-one|api|scheduler|conductor|compute|console-proxy\n"
    "                 [--state-dir DIR] [--config FILE] [--host NAME]\n"
    "                 [--log rocksdb|jetstream] [--nats-url URL] [--nats-stream NAME]\n"
    "                 [--nats-replicas 1|3] [--no-sync] [--bus inprocess|nats]\n"
    "                 [--compute-listen URL] [--hosts N] [--hypervisor libvirt|fake]\n"
    "                 [--libvirt-uri URI] [--virt-type qemu|kvm]\n"
    "                 [--instances-path DIR]\n"
    "                 [--snapshot-every N] [--identity-listen URL]\n"
    "                 [--image-listen URL] [--ec2-listen URL] [--public-host HOST]\n"
    "                 [--auth-strategy keystone|noauth2] [--password PW]\n"
    "                 [--metrics-listen URL] [--novncproxy-listen URL]\n"
    "Runs every chronova role (all-in-one) or one role in this process until\n"
    "SIGINT/SIGTERM. A role on its own needs --log jetstream and --bus nats.\n"
    "Defaults: --state-dir /var/lib/chronova (root) or ~/.local/share/chronova,\n"
    "--log rocksdb. Flags override the INI file given with --config.\n";

std::string DefaultStateDir() {
  if (geteuid() == 0) return "/var/lib/chronova";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/chronova";
}

void Log(const std::string& line) { Env::Default()->Info({.role = "chronovad"}, line); }

struct DaemonConfig {
  std::string command;  // all-in-one, api, scheduler, conductor, compute
  NodeOptions node;
};

// The roles `command` runs, or nullopt for an unknown command.
std::optional<Roles> RolesOf(const std::string& command) {
  Roles r;
  if (command == "all-in-one") return r;
  r.api = command == "api";
  r.scheduler = command == "scheduler";
  r.conductor = command == "conductor";
  r.compute = command == "compute";
  r.console = command == "console-proxy";
  if (!r.api && !r.scheduler && !r.conductor && !r.compute && !r.console)
    return std::nullopt;
  return r;
}

// This machine's short name (up to the first dot, as `hostname -s`).
std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host = name;
  return host.substr(0, host.find('.'));
}

// A boolean option as oslo.config reads one (strutils.bool_from_string,
// strict: 1/t/true/on/y/yes or 0/f/false/off/n/no, any case).
Result<bool> IniBool(const IniFile& ini, const char* section, const char* key,
                     bool fallback) {
  std::string v = ini.GetOr(section, key, fallback ? "true" : "false");
  std::string l;
  for (char c : v)
    l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (const char* t : {"1", "t", "true", "on", "y", "yes"}) {
    if (l == t) return true;
  }
  for (const char* f : {"0", "f", "false", "off", "n", "no"}) {
    if (l == f) return false;
  }
  return Status::InvalidArgument(std::string("[") + section + "] " + key +
                                 " must be true or false, not '" + v + "'");
}

// The consoles: nova.conf's [vnc], [spice], [serial_console], [consoleauth]
// and [console] (docs/configuration.md, "Consoles"). A base URL not set
// follows its proxy's port, on the public host.
Status LoadConsoleConfig(const Flags& flags, const IniFile& ini, NodeOptions& n) {
  ConsoleOptions& c = n.api.consoles;
  ConsoleRoleOptions& r = n.console;
  auto boolean = [&](const char* section, const char* key, bool fallback) {
    return IniBool(ini, section, key, fallback);
  };
  // One proxy's listen URL and the base URL the API answers with.
  auto proxy = [&](const char* section, const char* prefix, const char* flag,
                   const char* default_port, const std::string& scheme,
                   const std::string& page, const char* base_key, std::string* listen,
                   std::string* base) -> Status {
    const std::string host =
        ini.GetOr(section, std::string(prefix) + "_host", "127.0.0.1");
    const std::string port =
        ini.GetOr(section, std::string(prefix) + "_port", default_port);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument(std::string("[") + section + "] " + prefix +
                                     "_port must be a port number, not '" + port + "'");
    }
    *listen = "http://" + host + ":" + port;
    if (flag != nullptr) *listen = flags.Get(flag, *listen);
    std::string public_host = host == "0.0.0.0" ? n.api.public_host : host;
    std::string port_now = listen->substr(listen->rfind(':') + 1);
    *base = ini.GetOr(section, base_key,
                      scheme + "://" + public_host + ":" + port_now + "/" + page);
    return Status::Ok();
  };
  CHRONOVA_ASSIGN_OR_RETURN(c.vnc_enabled, boolean("vnc", "enabled", true));
  CHRONOVA_RETURN_IF_ERROR(proxy("vnc", "novncproxy", "novncproxy-listen", "6080", "http",
                                 "vnc_lite.html", "novncproxy_base_url", &r.novnc_listen,
                                 &c.novncproxy_base_url));
  CHRONOVA_ASSIGN_OR_RETURN(c.spice_enabled, boolean("spice", "enabled", false));
  CHRONOVA_RETURN_IF_ERROR(proxy("spice", "html5proxy", nullptr, "6082", "http",
                                 "spice_auto.html", "html5proxy_base_url",
                                 &r.spice_listen, &c.html5proxy_base_url));
  CHRONOVA_ASSIGN_OR_RETURN(c.serial_enabled,
                            boolean("serial_console", "enabled", false));
  CHRONOVA_RETURN_IF_ERROR(proxy("serial_console", "serialproxy", nullptr, "6083", "ws",
                                 "", "base_url", &r.serial_listen, &c.serial_base_url));
  // What a real libvirt host gives its guests for these consoles.
  n.compute.spice = c.spice_enabled;
  if (c.serial_enabled) {
    n.compute.serial_port_range =
        ini.GetOr("serial_console", "port_range", "10000:20000");
    const std::string& range = n.compute.serial_port_range;
    const size_t colon = range.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == range.size() ||
        range.find_first_not_of("0123456789:") != std::string::npos ||
        std::stoi(range.substr(0, colon)) > std::stoi(range.substr(colon + 1)) ||
        std::stoi(range.substr(colon + 1)) > 65535) {
      return Status::InvalidArgument(
          "[serial_console] port_range must be FIRST:LAST, not '" + range + "'");
    }
  }
  r.novnc_dir = ini.GetOr("vnc", "novnc_dir", r.novnc_dir);
  r.spice_dir = ini.GetOr("spice", "html5_dir", r.spice_dir);
  const std::string ttl = ini.GetOr("consoleauth", "token_ttl", "600");
  if (ttl.empty() || ttl.size() > 9 ||
      ttl.find_first_not_of("0123456789") != std::string::npos || ttl == "0") {
    return Status::InvalidArgument(
        "[consoleauth] token_ttl must be a number of seconds > 0");
  }
  c.token_ttl_s = std::stoll(ttl);
  CHRONOVA_ASSIGN_OR_RETURN(r.enforce_session_timeout,
                            boolean("consoleauth", "enforce_session_timeout", false));
  std::string origins = ini.GetOr("console", "allowed_origins", "");
  for (size_t at = 0; at <= origins.size();) {
    size_t end = origins.find(',', at);
    if (end == std::string::npos) end = origins.size();
    std::string o = origins.substr(at, end - at);
    o.erase(0, o.find_first_not_of(" \t"));
    o.erase(o.find_last_not_of(" \t") + 1);
    if (!o.empty()) r.allowed_origins.push_back(o);
    at = end + 1;
  }
  return Status::Ok();
}

Result<DaemonConfig> LoadConfig(const Flags& flags, const std::string& command) {
  IniFile ini;
  if (flags.Has("config")) {
    CHRONOVA_ASSIGN_OR_RETURN(ini, IniFile::Load(flags.Get("config")));
  }
  DaemonConfig c;
  c.command = command;
  c.node.roles = *RolesOf(command);
  const bool all_in_one = command == "all-in-one";
  LogConfig& log = c.node.log;
  log.state_dir =
      flags.Get("state-dir", ini.GetOr("DEFAULT", "state_dir", DefaultStateDir()));
  CHRONOVA_ASSIGN_OR_RETURN(
      log.backend,
      ParseLogBackend(flags.Get("log", ini.GetOr("log", "backend", "rocksdb"))));
  log.sync = !flags.Has("no-sync") && ini.GetOr("log", "sync", "true") != "false";
  JetStreamLogOptions& js = log.jetstream;
  js.url = flags.Get("nats-url", ini.GetOr("nats", "url", js.url));
  js.stream_name = flags.Get("nats-stream", ini.GetOr("nats", "stream", js.stream_name));
  std::string replicas = flags.Get("nats-replicas", ini.GetOr("nats", "replicas", "1"));
  if (replicas != "1" && replicas != "3") {
    return Status::InvalidArgument("nats replicas must be 1 or 3, not " + replicas);
  }
  js.replicas = std::stoi(replicas);
  NodeOptions& n = c.node;
  std::string bus = flags.Get("bus", ini.GetOr("bus", "backend", "inprocess"));
  if (bus == "nats") {
    n.bus_url = js.url;
  } else if (bus != "inprocess") {
    return Status::InvalidArgument("unknown bus '" + bus +
                                   "' (expected inprocess or nats)");
  }
  n.metrics_url = flags.Get("metrics-listen", ini.GetOr("metrics", "listen", ""));
  n.api.compute_api_url = flags.Get(
      "compute-listen", ini.GetOr("api", "compute_listen", n.api.compute_api_url));
  n.api.identity_api_url = flags.Get(
      "identity-listen", ini.GetOr("api", "identity_listen", n.api.identity_api_url));
  n.api.image_api_url =
      flags.Get("image-listen", ini.GetOr("api", "image_listen", n.api.image_api_url));
  n.api.ec2_api_url =
      flags.Get("ec2-listen", ini.GetOr("api", "ec2_listen", n.api.ec2_api_url));
  n.api.cert_dir = ini.GetOr("api", "cert_dir", n.api.cert_dir);
  CHRONOVA_ASSIGN_OR_RETURN(n.api.keep_alive, IniBool(ini, "wsgi", "keep_alive", true));
  n.api.public_host =
      flags.Get("public-host", ini.GetOr("api", "public_host", n.api.public_host));
  n.api.auth_strategy =
      flags.Get("auth-strategy", ini.GetOr("api", "auth_strategy", n.api.auth_strategy));
  if (n.api.auth_strategy != "keystone" && n.api.auth_strategy != "noauth2") {
    return Status::InvalidArgument("auth_strategy must be keystone or noauth2, not " +
                                   n.api.auth_strategy);
  }
  n.api.users_file = ini.GetOr("identity", "users_file", "");
  n.api.token_key_file = ini.GetOr("identity", "token_key_file", "");
  n.api.identity_password = flags.Get("password", ini.GetOr("identity", "password", ""));
  std::string expiration = ini.GetOr("token", "expiration", "3600");
  if (expiration.empty() || expiration.size() > 9 ||
      expiration.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(expiration) < 1) {
    return Status::InvalidArgument(
        "[token] expiration must be a positive number of seconds");
  }
  n.api.token_expiration_s = std::stoll(expiration);
  std::string max_image =
      ini.GetOr("image", "max_image_size", std::to_string(n.api.max_image_size));
  if (max_image.empty() || max_image.size() > 19 ||
      max_image.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(
        "[image] max_image_size must be a number of bytes, not " + max_image);
  }
  n.api.max_image_size = std::stoull(max_image);
  std::string hosts = flags.Get("hosts", ini.GetOr("compute", "hosts", "1"));
  n.compute.hosts = std::atoi(hosts.c_str());
  if (n.compute.hosts < 0 || n.compute.hosts > 100000) {
    return Status::InvalidArgument("--hosts must be between 0 and 100000, not " + hosts);
  }
  // nova.conf's [DEFAULT] host: this machine's name (the all-in-one's is
  // "compute" unless set). A compute process with one host runs exactly it;
  // with several, "<host>-<n>".
  n.host = flags.Get(
      "host", ini.GetOr("DEFAULT", "host",
                        ini.GetOr("compute", "host", all_in_one ? n.host : HostName())));
  if (n.host.empty() || n.host.size() > 255 ||
      n.host.find_first_of(" .*>/\t\r\n") != std::string::npos) {
    return Status::InvalidArgument(
        "host must be a name without spaces, dots, '*', '>' or '/', not '" + n.host +
        "'");
  }
  n.compute.host_prefix = n.host;
  // [nats] credentials_dir (chronovactl nats-credentials): this process
  // connects as its role, or as its host for a compute host, or as admin for
  // the all-in-one; ca_file: TLS, trusting that CA.
  NatsAuth auth;
  const std::string creds = ini.GetOr("nats", "credentials_dir", "");
  if (!creds.empty()) {
    const std::string name = all_in_one ? "admin" : (n.roles.compute ? n.host : command);
    if (n.roles.compute && !all_in_one && n.compute.hosts != 1) {
      return Status::InvalidArgument(
          "with [nats] credentials_dir a compute process runs one host (--hosts 1): "
          "each host has its own credential");
    }
    auth.nkey_seed_file = creds + "/" + name + ".nk";
    auth.inbox_prefix = "_INBOX." + name;
  }
  auth.ca_file = ini.GetOr("nats", "ca_file", "");
  auth.connection_name = "chronova " + command + " " + n.host;
  c.node.log.jetstream.auth = auth;
  n.bus_auth = auth;
  n.api.image_dir = ini.GetOr("image", "filesystem_store_datadir", "");
  if (!all_in_one) {
    const bool log_needed = !n.roles.compute;  // a compute host never opens the log
    if ((log_needed && c.node.log.backend != LogBackend::kJetStream) ||
        n.bus_url.empty()) {
      return Status::InvalidArgument(
          "chronovad " + command +
          " shares the log and the bus with the other roles' processes: "
          "set --log jetstream and --bus nats ([log] backend, [bus] backend)");
    }
    n.seed_catalog = n.roles.api;
  }
  n.compute.hypervisor =
      flags.Get("hypervisor", ini.GetOr("compute", "hypervisor", n.compute.hypervisor));
  n.compute.libvirt_uri =
      flags.Get("libvirt-uri", ini.GetOr("libvirt", "connection_uri", ""));
  n.compute.virt_type =
      flags.Get("virt-type", ini.GetOr("libvirt", "virt_type", n.compute.virt_type));
  if (n.compute.virt_type != "kvm" && n.compute.virt_type != "qemu") {
    return Status::InvalidArgument("[libvirt] virt_type must be kvm or qemu, not " +
                                   n.compute.virt_type);
  }
  n.compute.instances_path =
      flags.Get("instances-path", ini.GetOr("DEFAULT", "instances_path", ""));
  // nova.conf's [image_cache] options, or their deprecated [DEFAULT] names.
  auto seconds = [&](const char* name, const char* old_name,
                     int64_t fallback) -> Result<int64_t> {
    std::string v = ini.GetOr("image_cache", name,
                              ini.GetOr("DEFAULT", old_name, std::to_string(fallback)));
    const bool negative = v.starts_with("-");
    const std::string digits = negative ? v.substr(1) : v;
    if (digits.empty() || digits.size() > 12 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument(std::string("[image_cache] ") + name +
                                     " must be a number of seconds, not " + v);
    }
    return std::stoll(v);
  };
  CHRONOVA_ASSIGN_OR_RETURN(n.compute.image_cache_manager_interval_s,
                            seconds("manager_interval", "image_cache_manager_interval",
                                    n.compute.image_cache_manager_interval_s));
  CHRONOVA_ASSIGN_OR_RETURN(n.compute.remove_unused_original_minimum_age_s,
                            seconds("remove_unused_original_minimum_age_seconds",
                                    "remove_unused_original_minimum_age_seconds",
                                    n.compute.remove_unused_original_minimum_age_s));
  std::string every = flags.Get(
      "snapshot-every",
      ini.GetOr("projections", "snapshot_every", std::to_string(n.api.snapshot_every)));
  std::string keep =
      ini.GetOr("projections", "snapshot_keep", std::to_string(n.api.snapshot_keep));
  auto is_count = [](const std::string& v) {
    return !v.empty() && v.size() <= 18 &&
           v.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!is_count(every) || !is_count(keep)) {
    return Status::InvalidArgument("snapshot_every and snapshot_keep must be numbers");
  }
  n.api.snapshot_every = std::stoull(every);
  n.api.snapshot_keep = std::stoull(keep);
  // nova.conf's name; seconds, 0 = never.
  std::string build_timeout = ini.GetOr("DEFAULT", "instance_build_timeout",
                                        std::to_string(n.instance_build_timeout_s));
  if (!is_count(build_timeout) || build_timeout.size() > 12) {
    return Status::InvalidArgument(
        "[DEFAULT] instance_build_timeout must be a number of seconds");
  }
  n.instance_build_timeout_s = std::stoll(build_timeout);
  // nova.conf's names; seconds. shelved_offload_time may be -1 (never).
  std::string reclaim = ini.GetOr("DEFAULT", "reclaim_instance_interval",
                                  std::to_string(n.reclaim_instance_interval_s));
  if (!is_count(reclaim) || reclaim.size() > 12) {
    return Status::InvalidArgument(
        "[DEFAULT] reclaim_instance_interval must be a number of seconds");
  }
  n.reclaim_instance_interval_s = std::stoll(reclaim);
  std::string offload = ini.GetOr("DEFAULT", "shelved_offload_time",
                                  std::to_string(n.shelved_offload_time_s));
  if (offload != "-1" && (!is_count(offload) || offload.size() > 12)) {
    return Status::InvalidArgument(
        "[DEFAULT] shelved_offload_time must be a number of seconds, or -1");
  }
  n.shelved_offload_time_s = std::stoll(offload);
  std::string sync_interval =
      ini.GetOr("DEFAULT", "sync_power_state_interval",
                std::to_string(n.compute.sync_power_state_interval_s));
  const bool negative = sync_interval.starts_with("-");
  if (!is_count(negative ? sync_interval.substr(1) : sync_interval) ||
      sync_interval.size() > 12) {
    return Status::InvalidArgument(
        "[DEFAULT] sync_power_state_interval must be a number of seconds");
  }
  n.compute.sync_power_state_interval_s = std::stoll(sync_interval);
  // nova.conf's report_interval and service_down_time, whole seconds > 0.
  auto positive_seconds = [&](const char* key, int64_t us) -> Result<int64_t> {
    std::string v = ini.GetOr("DEFAULT", key, std::to_string(us / 1000000));
    if (!is_count(v) || v.size() > 9 || std::stoll(v) == 0) {
      return Status::InvalidArgument(std::string("[DEFAULT] ") + key +
                                     " must be a positive number of seconds");
    }
    return std::stoll(v) * 1000000;
  };
  CHRONOVA_ASSIGN_OR_RETURN(
      n.compute.report_interval_us,
      positive_seconds("report_interval", n.compute.report_interval_us));
  CHRONOVA_ASSIGN_OR_RETURN(
      n.service_down_time_us,
      positive_seconds("service_down_time", n.service_down_time_us));
  if (n.service_down_time_us <= n.compute.report_interval_us) {
    // Nova's servicegroup API does the same, with the same warning.
    const int64_t adjusted = n.compute.report_interval_us * 5 / 2 / 1000000 * 1000000;
    Log("Report interval must be less than service down time. Current config: "
        "<service_down_time: " +
        std::to_string(n.service_down_time_us / 1000000) +
        ", report_interval: " + std::to_string(n.compute.report_interval_us / 1000000) +
        ">. Setting service_down_time to: " + std::to_string(adjusted / 1000000));
    n.service_down_time_us = adjusted;
  }
  CHRONOVA_RETURN_IF_ERROR(LoadConsoleConfig(flags, ini, n));
  // [quota] as in nova.conf (instances, cores, ram, key_pairs, ...; -1 unlimited).
  for (const std::string& resource : QuotaResourceNames()) {
    std::string key = QuotaConfigKey(resource);
    std::optional<std::string> set = ini.Get("quota", key);
    if (!set) continue;
    const std::string& v = *set;
    bool ok = !v.empty() && v.size() <= 12 &&
              (v == "-1" || v.find_first_not_of("0123456789") == std::string::npos);
    if (!ok)
      return Status::InvalidArgument("[quota] " + key + " must be an integer >= -1");
    n.api.quota_defaults[resource] = std::stoll(v);
  }
  return c;
}

int Run(int argc, char** argv) {
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // What a successor runs (SIGUSR2): this command line, from the binary at
  // this path when the signal comes (an upgrade may have replaced it).
  std::error_code exe_ec;
  const std::string exe =
      std::filesystem::read_symlink("/proc/self/exe", exe_ec).string();
  const std::vector<std::string> args(argv, argv + argc);
  std::optional<Handover> handover = TakeHandover();

  auto flags = Flags::Parse(argc, argv,
                            {"state-dir",
                             "config",
                             "log",
                             "nats-url",
                             "nats-stream",
                             "nats-replicas",
                             "bus",
                             "compute-listen",
                             "novncproxy-listen",
                             "hosts",
                             "hypervisor",
                             "libvirt-uri",
                             "virt-type",
                             "instances-path",
                             "snapshot-every",
                             "identity-listen",
                             "image-listen",
                             "ec2-listen",
                             "public-host",
                             "metrics-listen",
                             "auth-strategy",
                             "password",
                             "host"},
                            {"no-sync", "help"});
  if (!flags.ok() || flags->Has("help") || flags->positional().size() != 1 ||
      !RolesOf(flags->positional()[0])) {
    if (!flags.ok())
      std::fprintf(stderr, "chronovad: %s\n", flags.status().message().c_str());
    std::fputs(kUsage, stderr);
    return flags.ok() && flags->Has("help") ? 0 : 2;
  }
  auto config = LoadConfig(*flags, flags->positional()[0]);
  if (!config.ok()) {
    Log(config.status().ToString());
    return 2;
  }
  const std::string& dir = config->node.log.state_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    Log("cannot create state dir " + dir + ": " + ec.message());
    return 1;
  }
  if (handover) {
    // Started by a running daemon (SIGUSR2): build, then take over.
    config->node.listen_fds = handover->listen_fds;
    Status st = PrepareReadModels(config->node);
    if (st.ok()) st = TakeOver(*handover, config->node, 120);
    if (!st.ok()) {
      Log("restart without downtime failed: " + st.ToString() +
          "; the running daemon goes on serving");
      return 1;
    }
  }
  auto node = Node::Start(config->node);
  if (handover) {
    // Sockets handed over for listeners this configuration turned off would
    // queue connections nobody accepts: closed, they are refused.
    std::set<int> used;
    if (node.ok()) {
      for (const auto& [name, fd] : (*node)->ListenFds()) used.insert(fd);
    }
    for (const auto& [name, fd] : handover->listen_fds) {
      if (!used.contains(fd)) close(fd);
    }
  }
  if (!node.ok()) {
    if (handover) Log("after taking over, nothing serves: " + node.status().ToString());
    Log(node.status().ToString());
    return 1;
  }
  const NodeOptions& n = config->node;
  std::string ready = config->command + " ready: state dir " + dir;
  if (n.roles.UsesLog()) {
    ready +=
        std::string(", log ") +
        (n.log.backend == LogBackend::kRocksDb ? "rocksdb"
                                               : "jetstream " + n.log.jetstream.url) +
        ", head seq " + std::to_string((*node)->store()->checkpoint().value());
  }
  if (!n.bus_url.empty()) ready += ", bus " + n.bus_url;
  if (!n.metrics_url.empty()) ready += ", metrics " + n.metrics_url + "/metrics";
  if (n.roles.compute) {
    ready += ", " + std::to_string(n.compute.hosts) + " " + n.compute.hypervisor +
             " compute host(s)" +
             (n.compute.libvirt_uri.empty() ? "" : " on " + n.compute.libvirt_uri);
  }
  if (n.roles.scheduler) ready += ", scheduler";
  if (n.roles.conductor) ready += ", conductor";
  if (n.roles.api) {
    ready +=
        ", Compute API " +
        (n.api.compute_api_url.empty() ? "off" : n.api.compute_api_url + "/v2.1") + " (" +
        n.api.auth_strategy + "), Identity API " +
        (n.api.identity_api_url.empty() ? "off" : n.api.identity_api_url + "/v3") +
        ", Image API " +
        (n.api.image_api_url.empty() ? "off" : n.api.image_api_url + "/v2") +
        ", EC2 API " + (n.api.ec2_api_url.empty() ? "off" : n.api.ec2_api_url) +
        ((*node)->identity_password().empty() ? ""
                                              : ", credentials in " + dir + "/openrc");
  }
  for (const char* kind : {"novnc", "spice", "serial"}) {
    if (int port = (*node)->console_port(kind); port != 0)
      ready +=
          ", " + std::string(kind) + " console proxy on port " + std::to_string(port);
  }
  Log(ready + "; Ctrl-C or SIGTERM stops it");

  bool reported = false;
  pid_t successor = 0;
  while (true) {
    timespec tick{1, 0};
    siginfo_t info{};
    int sig = sigtimedwait(&stop_signals, &info, &tick);
    if ((sig == SIGINT || sig == SIGTERM) && successor != 0 && info.si_pid != successor) {
      // Told to stop while a successor prepares: it goes too (it has changed
      // nothing yet but its scratch directories).
      kill(successor, SIGKILL);
      waitpid(successor, nullptr, 0);
      std::error_code rm;
      std::filesystem::remove_all(dir + "/projections.next", rm);
      std::filesystem::remove_all(dir + "/handover-secondary", rm);
      Log("stopped the successor, pid " + std::to_string(successor));
      successor = 0;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      Log(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
          (successor != 0 ? ": pid " + std::to_string(successor) + " takes over" : ""));
      break;
    }
    if (sig == SIGUSR2 && successor == 0) {
      if (config->command != "all-in-one" || n.log.backend != LogBackend::kRocksDb) {
        Log("SIGUSR2: a restart without downtime is for the all-in-one on the embedded "
            "log; restart role processes one at a time");
      } else if (Result<pid_t> child = StartSuccessor(exe, args, (*node)->ListenFds());
                 child.ok()) {
        successor = *child;
        Log("SIGUSR2: started " + exe + " as pid " + std::to_string(successor) +
            "; serving until it takes over");
      } else {
        Log("SIGUSR2: " + child.status().ToString());
      }
    }
    if (successor != 0) {
      int wstatus = 0;
      if (waitpid(successor, &wstatus, WNOHANG) == successor) {
        Log("pid " + std::to_string(successor) + " did not take over (" +
            (WIFSIGNALED(wstatus)
                 ? "killed by signal " + std::to_string(WTERMSIG(wstatus))
                 : "exit " + std::to_string(WEXITSTATUS(wstatus))) +
            "); serving on");
        successor = 0;
      }
    }
    Status st = (*node)->health();
    if (!st.ok() && !reported) {
      Log("read models stopped and will not go past seq " +
          std::to_string((*node)->store()->checkpoint().value()) + ": " + st.ToString());
      reported = true;
    }
  }
  // Requests under way are answered; idle connections close. Handed-over
  // sockets stay open in the successor, whose queues hold new connections.
  (*node)->DrainApis(std::chrono::seconds(10));
  node->reset();
  Log("stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace chronova

int main(int argc, char** argv) { return chronova::Run(argc, argv); }
