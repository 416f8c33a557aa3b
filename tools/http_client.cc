#include "tools/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace chronova {

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Status HttpClient::Connect() {
  size_t colon = host_port_.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("host:port expected");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port_.substr(colon + 1))));
  if (inet_pton(AF_INET, host_port_.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument("bad address " + host_port_);
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return Status::Unavailable(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status st =
        Status::Unavailable("connect " + host_port_ + ": " + std::strerror(errno));
    Close();
    return st;
  }
  return Status::Ok();
}

Result<HttpClientResponse> HttpClient::Send(
    const std::string& method, const std::string& path,
    const std::map<std::string, std::string>& headers, const std::string& body) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host_port_ + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0) CHRONOVA_RETURN_IF_ERROR(Connect());
    Result<HttpClientResponse> r = Exchange(req);
    if (r.ok() || attempt == 1) return r;
    Close();  // the server closed the kept-alive connection: once more, fresh
  }
  return Status::Internal("unreachable");
}

Result<HttpClientResponse> HttpClient::Exchange(const std::string& request) {
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return Status::Unavailable("send failed");
    sent += static_cast<size_t>(n);
  }
  auto fill = [&]() -> bool {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  };
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return Status::Unavailable("connection closed before a response");
  }
  HttpClientResponse resp;
  std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return Status::Internal("bad status line: " + status_line);
  resp.status = std::stoi(status_line.substr(9, 3));
  for (size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(
        pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      size_t v = line.find_first_not_of(' ', colon + 1);
      resp.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    pos = next;
  }
  if (resp.headers.count("transfer-encoding") &&
      resp.headers["transfer-encoding"] == "chunked") {
    while (true) {
      size_t crlf;
      while ((crlf = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill()) return Status::Unavailable("connection closed in a chunk");
      }
      size_t len = std::stoul(buffer_.substr(0, crlf), nullptr, 16);
      while (buffer_.size() < crlf + 2 + len + 2) {
        if (!fill()) return Status::Unavailable("connection closed in a chunk");
      }
      resp.body += buffer_.substr(crlf + 2, len);
      buffer_.erase(0, crlf + 2 + len + 2);
      if (len == 0) break;
    }
  } else {
    size_t len = resp.headers.count("content-length")
                     ? std::stoul(resp.headers["content-length"])
                     : 0;
    while (buffer_.size() < len) {
      if (!fill()) return Status::Unavailable("connection closed in a body");
    }
    resp.body = buffer_.substr(0, len);
    buffer_.erase(0, len);
  }
  if (resp.headers.count("connection") && resp.headers["connection"] == "close") Close();
  return resp;
}

}  // namespace chronova
