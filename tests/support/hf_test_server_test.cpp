// The test server against the protocol facts it promises (checked with rbee's plain HTTP
// helpers, not with the HuggingFace client that is tested against it).

#include "hf_test_server.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "contracts/json_reader.hpp"
#include "http/client.hpp"
#include "provision/download.hpp"

namespace rbee::testing {
namespace {

using contracts::Json;
using provision::http_request;
using provision::HttpRequest;
using provision::HttpResponse;
using provision::TransferOptions;

TransferOptions no_retries() {
  TransferOptions options;
  options.max_attempts = 1;
  options.stall_timeout_s = 10;
  return options;
}

HttpResponse get(const std::string& url, std::vector<std::string> headers = {},
                 bool follow_redirects = true, const std::string& method = "GET") {
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.headers = std::move(headers);
  request.follow_redirects = follow_redirects;
  auto response = http_request(request, no_retries());
  EXPECT_TRUE(response) << url << ": " << response.error().message;
  return response ? *response : HttpResponse{};
}

std::string content_of_size(size_t n) {
  std::string content(n, '\0');
  for (size_t i = 0; i < n; ++i) content[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return content;
}

class HfTestServerTest : public ::testing::Test {
 protected:
  HfTestServerTest() {
    server_.add_file("org/small", "model-Q8_0.gguf", content_);
    server_.add_file("org/small", "README.md", "# small\n");
    server_.add_file("org/small", "sub/dir/other-F16.gguf", "GGUF....");
  }
  std::string content_ = content_of_size(10000);
  HfTestServer server_;
};

TEST_F(HfTestServerTest, TreeListsFilesFoldersAndLfs) {
  auto response = get(server_.url() + "/api/models/org/small/tree/main?recursive=true");
  ASSERT_EQ(response.status, 200);
  auto json = Json::parse(response.body);
  std::vector<std::string> paths;
  for (const auto& entry : json) paths.push_back(entry["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{"README.md", "model-Q8_0.gguf", "sub", "sub/dir",
                                             "sub/dir/other-F16.gguf"}));
  const auto& model = json[1];
  EXPECT_EQ(model["type"], "file");
  EXPECT_EQ(model["size"], 10000);
  EXPECT_EQ(model["lfs"]["size"], 10000);
  EXPECT_EQ(model["lfs"]["oid"].get<std::string>().size(), 64u);
  EXPECT_EQ(model["oid"].get<std::string>().size(), 40u);
  EXPECT_FALSE(json[0].contains("lfs"));  // README is a plain git file
  EXPECT_EQ(json[2]["type"], "directory");

  auto top = Json::parse(get(server_.url() + "/api/models/org/small/tree/main").body);
  std::vector<std::string> top_paths;
  for (const auto& entry : top) top_paths.push_back(entry["path"]);
  EXPECT_EQ(top_paths, (std::vector<std::string>{"README.md", "model-Q8_0.gguf", "sub"}));
  auto inside = Json::parse(get(server_.url() + "/api/models/org/small/tree/main/sub/dir").body);
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_EQ(inside[0]["path"], "sub/dir/other-F16.gguf");
}

TEST(HfTestServerPagesTest, TreePagesWithLinkHeader) {
  HfTestServer server(HfTestServerOptions{"127.0.0.1", 0, 2});
  for (int i = 0; i < 5; ++i) server.add_file("org/many", "f" + std::to_string(i), "x");
  std::string url = server.url() + "/api/models/org/many/tree/main?recursive=true";
  std::vector<std::string> paths;
  int pages = 0;
  while (!url.empty()) {
    auto response = get(url);
    ASSERT_EQ(response.status, 200);
    for (const auto& entry : Json::parse(response.body)) paths.push_back(entry["path"]);
    auto link = response.header("Link");
    url.clear();
    if (!link.empty()) {
      EXPECT_NE(link.find("rel=\"next\""), std::string::npos);
      url = link.substr(1, link.find('>') - 1);
    }
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paths, (std::vector<std::string>{"f0", "f1", "f2", "f3", "f4"}));
}

TEST_F(HfTestServerTest, ResolveRedirectsLikeTheHub) {
  auto response =
      get(server_.url() + "/org/small/resolve/main/model-Q8_0.gguf", {}, /*follow=*/false);
  ASSERT_EQ(response.status, 302);
  auto location = response.header("Location");
  EXPECT_EQ(location.rfind(server_.url() + "/cdn/org/small/", 0), 0u) << location;
  EXPECT_EQ(response.header("X-Linked-Size"), "10000");
  auto linked_etag = response.header("X-Linked-Etag");
  ASSERT_EQ(linked_etag.size(), 66u);
  EXPECT_EQ(location.substr(location.size() - 64), linked_etag.substr(1, 64));
  EXPECT_EQ(response.header("X-Repo-Commit"), server_.commit_of("org/small"));
  EXPECT_FALSE(response.header("ETag").empty());

  auto followed = get(server_.url() + "/org/small/resolve/main/model-Q8_0.gguf");
  EXPECT_EQ(followed.status, 200);
  EXPECT_EQ(followed.body, content_);
  EXPECT_EQ(followed.header("Content-Length"), "10000");
  EXPECT_EQ(followed.header("Accept-Ranges"), "bytes");

  // The commit id works as a revision too; files outside LFS come straight from resolve.
  auto readme =
      get(server_.url() + "/org/small/resolve/" + server_.commit_of("org/small") + "/README.md", {},
          false);
  EXPECT_EQ(readme.status, 200);
  EXPECT_EQ(readme.body, "# small\n");
  // raw gives what git stores: the LFS pointer.
  auto pointer = get(server_.url() + "/org/small/raw/main/model-Q8_0.gguf");
  EXPECT_EQ(pointer.status, 200);
  EXPECT_EQ(pointer.body, "version https://git-lfs.github.com/spec/v1\noid sha256:" +
                              linked_etag.substr(1, 64) + "\nsize 10000\n");
}

TEST_F(HfTestServerTest, CdnServesRanges) {
  auto redirect = get(server_.url() + "/org/small/resolve/main/model-Q8_0.gguf", {}, false);
  auto cdn = redirect.header("Location");

  auto middle = get(cdn, {"Range: bytes=10-19"});
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, content_.substr(10, 10));
  EXPECT_EQ(middle.header("Content-Range"), "bytes 10-19/10000");

  auto tail = get(cdn, {"Range: bytes=9995-"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, content_.substr(9995));

  auto suffix = get(cdn, {"Range: bytes=-3"});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, content_.substr(9997));

  auto past_end = get(cdn, {"Range: bytes=10000-"});
  EXPECT_EQ(past_end.status, 416);
  EXPECT_EQ(past_end.header("Content-Range"), "bytes */10000");

  auto head = get(cdn, {}, true, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "10000");
  EXPECT_TRUE(head.body.empty());
}

TEST_F(HfTestServerTest, ErrorsInTheHubsStyle) {
  auto anonymous = get(server_.url() + "/api/models/org/nope/tree/main");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.header("X-Error-Code"), "RepoNotFound");
  auto authenticated =
      get(server_.url() + "/api/models/org/nope/tree/main", {"Authorization: Bearer hf_x"});
  EXPECT_EQ(authenticated.status, 404);
  EXPECT_EQ(authenticated.header("X-Error-Code"), "RepoNotFound");
  auto revision = get(server_.url() + "/api/models/org/small/tree/v9");
  EXPECT_EQ(revision.status, 404);
  EXPECT_EQ(revision.header("X-Error-Code"), "RevisionNotFound");
  EXPECT_EQ(Json::parse(revision.body)["error"], "Invalid rev id: v9");
  auto entry = get(server_.url() + "/org/small/resolve/main/missing.gguf", {}, false);
  EXPECT_EQ(entry.status, 404);
  EXPECT_EQ(entry.header("X-Error-Code"), "EntryNotFound");

  server_.add_revision("org/small", "v9");
  EXPECT_EQ(get(server_.url() + "/api/models/org/small/tree/v9").status, 200);
}

TEST_F(HfTestServerTest, GatedRepos) {
  server_.set_gated("org/small", "hf_right");
  std::string url = server_.url() + "/org/small/resolve/main/model-Q8_0.gguf";
  auto none = get(url, {}, false);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("X-Error-Code"), "GatedRepo");
  auto wrong = get(url, {"Authorization: Bearer hf_wrong"}, false);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.header("X-Error-Code"), "GatedRepo");
  EXPECT_EQ(get(url, {"Authorization: Bearer hf_right"}, false).status, 302);
  // Like the Hub, the listing of a gated repo is public.
  EXPECT_EQ(get(server_.url() + "/api/models/org/small/tree/main").status, 200);
}

TEST_F(HfTestServerTest, FaultsAndRequestLogOverHttp) {
  http::Client control({server_.url()});
  auto added = control.post("/_test/faults", R"({"faults":[
      {"target":"org/small/model-Q8_0.gguf","kind":"status","status":503,"times":1},
      {"target":"org/small/model-Q8_0.gguf","kind":"drop","after_bytes":100}]})");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 200) << added->body;

  std::string url = server_.url() + "/org/small/resolve/main/model-Q8_0.gguf";
  EXPECT_EQ(get(url).status, 503);
  // The drop: the headers promise 10000 bytes, the connection ends after 100.
  HttpRequest request;
  request.url = url;
  auto dropped = http_request(request, no_retries());
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().code, ErrorCode::kUnavailable);
  // Spent: the next one is whole.
  auto whole = get(url, {"Range: bytes=5-"});
  EXPECT_EQ(whole.status, 206);
  EXPECT_EQ(whole.body, content_.substr(5));

  auto log = control.get_json("/_test/requests");
  ASSERT_TRUE(log) << log.error().message;
  std::vector<std::string> seen;
  for (const auto& entry : (*log)["requests"]) {
    seen.push_back(
        entry["method"].get<std::string>() + " " + entry["path"].get<std::string>().substr(0, 10) +
        " " + std::to_string(entry["status"].get<int>()) + " " + entry["range"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /org/small 503 ", "GET /org/small 302 ",
                                            "GET /cdn/org/s 200 ", "GET /org/small 302 bytes=5-",
                                            "GET /cdn/org/s 206 bytes=5-"}));
  EXPECT_EQ(server_.requests().size(), 5u);
  ASSERT_TRUE(control.del("/_test/requests"));
  EXPECT_TRUE(server_.requests().empty());

  auto bad = control.post("/_test/faults", R"({"target":"org/small","kind":"explode"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("kind"), std::string::npos);
}

TEST_F(HfTestServerTest, CorruptFlipsBytes) {
  server_.add_fault({"org/small/model-Q8_0.gguf", HfFault::Kind::kCorrupt, 0, 0, 0, 1});
  auto corrupted = get(server_.url() + "/org/small/resolve/main/model-Q8_0.gguf");
  ASSERT_EQ(corrupted.body.size(), content_.size());
  size_t differences = 0;
  for (size_t i = 0; i < content_.size(); ++i) differences += corrupted.body[i] != content_[i];
  EXPECT_EQ(differences, 3u);  // offsets 0, 4096, 8192
  EXPECT_EQ(get(server_.url() + "/org/small/resolve/main/model-Q8_0.gguf").body, content_);
}

TEST(HfTestServerFaultTest, ParsesJson) {
  auto fault = parse_hf_fault(R"({"target":"a/b/c.gguf","kind":"stall","after_bytes":-1,
                                  "seconds":2.5,"times":-1})");
  ASSERT_TRUE(fault) << fault.error().message;
  EXPECT_EQ(fault->kind, HfFault::Kind::kStall);
  EXPECT_EQ(fault->after_bytes, -1);
  EXPECT_EQ(fault->seconds, 2.5);
  EXPECT_EQ(fault->times, -1);
  EXPECT_FALSE(parse_hf_fault(R"({"kind":"drop"})"));
  EXPECT_FALSE(parse_hf_fault(R"({"target":"a/b","kind":"drop","times":0})"));
  EXPECT_FALSE(parse_hf_fault(R"({"target":"a/b","kind":"drop","colour":"red"})"));
}

TEST(HfTestServerDataTest, ServesTheSharedModelsWithTheirSha256) {
  auto models = HfTestServer::testdata_models_dir();
  if (!models) GTEST_SKIP() << "../shared/testdata/models is not here";
  HfTestServer server;
  ASSERT_TRUE(server.add_folder("test/models", *models));
  std::map<std::string, std::string> expected;  // SHA256SUMS: "<hash>  <name>"
  std::ifstream sums(*models / "SHA256SUMS");
  std::string hash, name;
  while (sums >> hash >> name) expected[name] = hash;
  ASSERT_FALSE(expected.empty());
  auto listing = Json::parse(get(server.url() + "/api/models/test/models/tree/main").body);
  size_t checked = 0;
  for (const auto& entry : listing) {
    if (!entry.contains("lfs")) continue;
    std::string path = entry["path"];
    ASSERT_TRUE(expected.count(path)) << path;
    EXPECT_EQ(entry["lfs"]["oid"], expected[path]) << path;
    ++checked;
  }
  EXPECT_EQ(checked, expected.size());
}

}  // namespace
}  // namespace rbee::testing
