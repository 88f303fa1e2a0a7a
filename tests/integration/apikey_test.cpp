// Client API keys: a queen that listens beyond loopback serves its OpenAI endpoints only to
// requests that carry a key made by `rbee apikey create`, until the key is revoked.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rbee::integration {
namespace {

int status_of(const http::Client& client, const std::string& path) {
  auto response = client.get(path);
  return response ? response->status : -1;
}

TEST(ApiKeyTest, NonLoopbackQueenServesOpenAiOnlyWithAValidKey) {
  RbeeHome home;
  home.set_queen_setting("host", "\"0.0.0.0\"");
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  const std::string url = home.queen_url();

  auto without = http::Client({url, "", 2, 10}).get("/v1/models");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->status, 401);
  EXPECT_NE(without->body.find("rbee apikey create"), std::string::npos) << without->body;
  EXPECT_EQ(status_of(http::Client({url, "rbee-sk-made-up", 2, 10}), "/v1/models"), 401);
  auto completion = http::Client({url, "", 2, 10}).post("/v1/completions", R"({"model":"m"})");
  ASSERT_TRUE(completion);
  EXPECT_EQ(completion->status, 401);

  auto created = home.rbee({"--json", "apikey", "create", "laptop"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  Json answer = Json::parse(created.out);
  std::string key = answer["key"];
  std::string id = answer["api_key"]["id"];
  EXPECT_EQ(status_of(http::Client({url, key, 2, 10}), "/v1/models"), 200);

  auto listed = home.rbee({"--json", "apikey", "list"});
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_EQ(Json::parse(listed.out)["api_keys"][0]["state"], "active");
  EXPECT_EQ(listed.out.find(key), std::string::npos) << "the key is shown only at creation";

  ASSERT_EQ(home.rbee({"apikey", "revoke", id}).exit_code, 0);
  EXPECT_EQ(status_of(http::Client({url, key, 2, 10}), "/v1/models"), 401);
  EXPECT_NE(home.rbee({"apikey", "revoke", "key-000000000000"}).exit_code, 0);
  // Managing keys takes the cluster token, which only this machine's user can read.
  auto stranger = http::Client({url, key, 2, 10}).post("/v1/apikeys", R"({"name":"x"})");
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->status, 401);
}

// The job API (hive installs over ssh, model deletion, inference) and the cluster's lists
// beyond loopback take the cluster token only: an API key is for the OpenAI endpoints.
TEST(ApiKeyTest, NonLoopbackQueenTakesJobsOnlyWithTheClusterToken) {
  RbeeHome home;
  home.set_queen_setting("host", "\"0.0.0.0\"");
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  const std::string url = home.queen_url();
  auto created = home.rbee({"--json", "apikey", "create", "laptop"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string key = Json::parse(created.out)["key"];
  const std::string job = R"({"operation":"hive_list"})";
  for (const std::string& credential : {std::string(), key, std::string("rbee-sk-made-up")}) {
    http::Client client({url, credential, 2, 10});
    auto submitted = client.post("/v1/jobs", job);
    ASSERT_TRUE(submitted);
    EXPECT_EQ(submitted->status, 401) << "credential '" << credential << "'";
    EXPECT_EQ(status_of(client, "/v1/hives"), 401);
    EXPECT_EQ(status_of(client, "/v1/workers"), 401);
  }
  EXPECT_EQ(status_of(http::Client({url, "", 2, 10}), "/health"), 200);
  http::Client trusted({url, home.cluster_token(), 2, 10});
  EXPECT_EQ(status_of(trusted, "/v1/hives"), 200);
  JobOutcome listed = run_job(trusted, Json::parse(job));
  EXPECT_EQ(listed.status, "completed") << listed.error_message();
  // The CLI on the queen's machine reads the token and goes on working.
  auto cli = home.rbee({"--json", "hive", "list"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
}

TEST(ApiKeyTest, LoopbackQueenNeedsNoKey) {
  RbeeHome home;
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  EXPECT_EQ(status_of(home.queen(), "/v1/models"), 200);
}

}  // namespace
}  // namespace rbee::integration
