// The EC2 endpoint over real HTTP on a whole node: requests signed here with
// SigV4 (api/ec2/sigv4.h) under an EC2 credential of the node's Identity
// service; EC2's XML views and errors, the form parser, DryRun and paging.
// (tests/e2e/ec2_test.sh drives the real clients.)
#include <catch2/catch.hpp>

#include "api/ec2/sigv4.h"
#include "api/identity/identity_service.h"
#include "tests/support/node_test_util.h"
#include "tests/support/test_util.h"
#include "tools/http_client.h"
#include "tools/node.h"

namespace chronova::testing {
namespace {

std::string AmzDate(Timestamp t) {
  std::time_t secs = static_cast<std::time_t>(t.micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[20];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

struct Ec2Node {
  TempDir dir;
  int port = FreePort();
  std::unique_ptr<Node> node;
  std::unique_ptr<HttpClient> http;
  std::string access, secret;

  Ec2Node() {
    NodeOptions o = FakeCloudOptions(dir, 1, 8, 8192);
    o.seed_catalog = true;
    o.api.auth_strategy = "keystone";
    o.api.compute_api_url = "http://127.0.0.1:" + std::to_string(FreePort());
    o.api.ec2_api_url = "http://127.0.0.1:" + std::to_string(port);
    auto started = Node::Start(o);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    node = std::move(started).value();
    WaitHosts(*node, 1);
    http = std::make_unique<HttpClient>("127.0.0.1:" + std::to_string(port));
    const IdentityUser* demo = node->identity()->directory().FindUserByName("demo");
    REQUIRE(demo != nullptr);
    RequestContext ctx;
    ctx.user = demo->id;
    ctx.project = demo->project_id;
    ctx.roles = {"member", "reader"};
    ctx.request_id = RequestId("req-ec2-test");
    auto cred = node->identity()->CreateEc2Credential(ctx, demo->id, demo->project_id);
    REQUIRE(cred.ok());
    access = cred->access;
    secret = cred->secret;
  }

  // POSTs `body` signed with SigV4 (or unsigned); the answer.
  HttpClientResponse Post(const std::string& body, bool sign = true) {
    const std::string host = "127.0.0.1:" + std::to_string(port);
    SignedRequest r{"POST",
                    "/",
                    "",
                    {{"Host", host},
                     {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                     {"X-Amz-Date", AmzDate(Env::Default()->Now())}},
                    body};
    std::map<std::string, std::string> headers;
    for (const auto& [k, v] : r.headers) {
      if (k != "Host") headers[k] = v;
    }
    if (sign) {
      SigV4Auth auth;
      auth.access_key = access;
      auth.date = r.headers[2].second.substr(0, 8);
      auth.region = "RegionOne";
      auth.service = "ec2";
      auth.signed_headers = {"content-type", "host", "x-amz-date"};
      auth.amz_date = r.headers[2].second;
      headers["Authorization"] =
          "AWS4-HMAC-SHA256 Credential=" + access + "/" + auth.date +
          "/RegionOne/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
          "Signature=" +
          SigV4Signature(secret, auth, StringToSign(auth, CanonicalRequest(r, auth)));
    }
    auto answer = http->Send("POST", "/", headers, body);
    REQUIRE(answer.ok());
    return *answer;
  }
};

// The text of the first <tag>...</tag> in `xml`, or "".
std::string Text(const std::string& xml, const std::string& tag) {
  size_t a = xml.find("<" + tag + ">");
  if (a == std::string::npos) return "";
  a += tag.size() + 2;
  return xml.substr(a, xml.find("</" + tag + ">", a) - a);
}

size_t Count(const std::string& xml, const std::string& needle) {
  size_t n = 0;
  for (size_t at = xml.find(needle); at != std::string::npos;
       at = xml.find(needle, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("EC2 endpoint: XML views, errors in EC2's shape, DryRun, paging") {
  Ec2Node n;
  auto regions = n.Post("Action=DescribeRegions&Version=2016-11-15");
  INFO(regions.body);
  REQUIRE(regions.status == 200);
  CHECK(regions.body.find("<DescribeRegionsResponse "
                          "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">") !=
        std::string::npos);
  CHECK(Text(regions.body, "regionName") == "RegionOne");
  CHECK(Text(regions.body, "requestId").size() == 36);

  // Unsigned, unknown action, malformed form, missing parameter, DryRun.
  auto unsigned_answer = n.Post("Action=DescribeRegions&Version=2016-11-15", false);
  CHECK(unsigned_answer.status == 401);
  CHECK(Text(unsigned_answer.body, "Code") == "MissingAuthenticationToken");
  CHECK(unsigned_answer.body.find("<Response><Errors><Error>") != std::string::npos);
  auto unknown = n.Post("Action=DescribeVpcs&Version=2016-11-15");
  CHECK(unknown.status == 400);
  CHECK(Text(unknown.body, "Code") == "InvalidAction");
  auto malformed = n.Post("Action=DescribeRegions&Bad=%zz");
  CHECK(Text(malformed.body, "Code") == "InvalidParameterValue");
  auto missing = n.Post("Action=RunInstances&Version=2016-11-15&MinCount=1&MaxCount=1");
  CHECK(Text(missing.body, "Code") == "MissingParameter");
  auto dry = n.Post("Action=DescribeRegions&DryRun=true");
  CHECK(dry.status == 412);
  CHECK(Text(dry.body, "Code") == "DryRunOperation");

  // Six instances, then a page of five and the rest.
  auto images = n.Post("Action=DescribeImages&Version=2016-11-15");
  const std::string ami = Text(images.body, "imageId");
  REQUIRE(ami.starts_with("ami-"));
  auto run =
      n.Post("Action=RunInstances&Version=2016-11-15&ImageId=" + ami +
             "&InstanceType=m1.tiny&MinCount=6&MaxCount=6&ClientToken=t1"
             "&TagSpecification.1.ResourceType=instance"
             "&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=a%26b");
  INFO(run.body);
  REQUIRE(run.status == 200);
  CHECK(Count(run.body, "<instanceId>") == 6);
  CHECK(run.body.find("<value>a&amp;b</value>") != std::string::npos);
  const std::string reservation = Text(run.body, "reservationId");
  CHECK(reservation.starts_with("r-"));
  // The same ClientToken again: the same reservation, nothing new.
  auto again = n.Post("Action=RunInstances&Version=2016-11-15&ImageId=" + ami +
                      "&InstanceType=m1.tiny&MinCount=6&MaxCount=6&ClientToken=t1");
  CHECK(Text(again.body, "reservationId") == reservation);
  auto all = n.Post("Action=DescribeInstances&Version=2016-11-15");
  CHECK(Count(all.body, "<instanceId>") == 6);
  auto page = n.Post("Action=DescribeInstances&Version=2016-11-15&MaxResults=5");
  CHECK(Count(page.body, "<instanceId>") == 5);
  const std::string token = Text(page.body, "nextToken");
  REQUIRE(token.starts_with("i-"));
  auto rest = n.Post(
      "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=" + token);
  CHECK(Count(rest.body, "<instanceId>") == 1);
  CHECK(Text(rest.body, "nextToken").empty());
  auto bad_max = n.Post("Action=DescribeInstances&MaxResults=2");
  CHECK(Text(bad_max.body, "Code") == "InvalidParameterValue");
  auto not_utf8 = n.Post("Action=CreateTags&Version=2016-11-15&ResourceId.1=" + token +
                         "&Tag.1.Key=k&Tag.1.Value=%FF");
  CHECK(Text(not_utf8.body, "Code") == "InvalidParameterValue");

  // Terminated instances come after the live ones, and pages go on through them.
  auto terminate =
      n.Post("Action=TerminateInstances&Version=2016-11-15&InstanceId.1=" + token +
             "&InstanceId.2=" + Text(all.body, "instanceId"));
  REQUIRE(terminate.status == 200);
  REQUIRE(WaitUntil([&] {
    auto gone = n.Post(
        "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name"
        "&Filter.1.Value.1=terminated");
    return Count(gone.body, "<instanceId>") == 2;
  }));
  auto first = n.Post("Action=DescribeInstances&Version=2016-11-15&MaxResults=5");
  CHECK(Count(first.body, "<instanceId>") == 5);
  CHECK(Count(first.body, "<name>terminated</name>") == 1);
  const std::string later = Text(first.body, "nextToken");
  REQUIRE(later.starts_with("terminated:i-"));
  auto last = n.Post(
      "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&NextToken=" + later);
  CHECK(Count(last.body, "<instanceId>") == 1);
  CHECK(Count(last.body, "<name>terminated</name>") == 1);
  CHECK(Text(last.body, "nextToken").empty());
}

}  // namespace chronova::testing
