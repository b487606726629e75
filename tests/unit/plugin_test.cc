// The go-plugin side: handshake negotiation and line format, the server certificate, and the
// log format the host re-logs.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <regex>

#include "nlohmann/json.hpp"
#include "provider/plugin/certificate.h"
#include "provider/plugin/handshake.h"
#include "provider/plugin/log.h"

namespace arnica::plugin {
namespace {

HandshakeEnvironment WithVersions(std::string versions) {
  HandshakeEnvironment environment;
  environment.protocol_versions = std::move(versions);
  return environment;
}

TEST(Handshake, PicksSixWhateverTheOrder) {
  // The host builds the list from a Go map, so either order arrives.
  EXPECT_EQ(*NegotiateProtocolVersion(WithVersions("5,6")), 6);
  EXPECT_EQ(*NegotiateProtocolVersion(WithVersions("6,5")), 6);
  EXPECT_EQ(*NegotiateProtocolVersion(WithVersions(" 6 ")), 6);
}

TEST(Handshake, RefusesAHostWithoutSix) {
  absl::StatusOr<int> version = NegotiateProtocolVersion(WithVersions("4,5"));
  ASSERT_FALSE(version.ok());
  EXPECT_NE(std::string(version.status().message()).find("version 6"), std::string::npos);
}

TEST(Handshake, MagicCookieMustMatchExactly) {
  HandshakeEnvironment environment;
  EXPECT_FALSE(MagicCookieMatches(environment));
  environment.magic_cookie = std::string(kMagicCookieValue) + " ";
  EXPECT_FALSE(MagicCookieMatches(environment));
  environment.magic_cookie = kMagicCookieValue;
  EXPECT_TRUE(MagicCookieMatches(environment));
  EXPECT_NE(NotAPluginMessage().find("not meant to be run directly"), std::string::npos);
}

TEST(Handshake, PortRange) {
  HandshakeEnvironment environment;
  EXPECT_EQ(ParsePortRange(environment)->min, 10000);
  EXPECT_EQ(ParsePortRange(environment)->max, 25000);
  environment.min_port = "20000";
  environment.max_port = "20010";
  EXPECT_EQ(ParsePortRange(environment)->min, 20000);
  environment.max_port = "19999";
  EXPECT_FALSE(ParsePortRange(environment).ok());
  environment.max_port = "many";
  EXPECT_FALSE(ParsePortRange(environment).ok());
}

TEST(Handshake, LineFormat) {
  EXPECT_EQ(HandshakeLine(6, "unix", "/tmp/plugin1", ""), "1|6|unix|/tmp/plugin1|grpc|\n");
  // Go's RawStdEncoding: standard alphabet, no padding ("\xfb\xff" is "+/8=" when padded).
  EXPECT_EQ(HandshakeLine(6, "tcp", "127.0.0.1:10000", "\xfb\xff"),
            "1|6|tcp|127.0.0.1:10000|grpc|+/8\n");
}

TEST(Base64, RawStandardAlphabetWithoutPadding) {
  EXPECT_EQ(Base64RawStd(""), "");
  EXPECT_EQ(Base64RawStd("f"), "Zg");
  EXPECT_EQ(Base64RawStd("fo"), "Zm8");
  EXPECT_EQ(Base64RawStd("foo"), "Zm9v");
  EXPECT_EQ(Base64RawStd(std::string(3000, 'x')).find('\n'), std::string::npos);
}

TEST(Certificate, SelfSignedCaForLocalhost) {
  absl::StatusOr<ServerCertificate> certificate = GenerateServerCertificate();
  ASSERT_TRUE(certificate.ok()) << certificate.status();
  const auto* der = reinterpret_cast<const unsigned char*>(certificate->certificate_der.data());
  X509* x509 = d2i_X509(nullptr, &der, static_cast<long>(certificate->certificate_der.size()));
  ASSERT_NE(x509, nullptr);
  EXPECT_EQ(X509_check_host(x509, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ca(x509), 1);
  EXPECT_EQ(X509_check_purpose(x509, X509_PURPOSE_SSL_SERVER, 0), 1);
  // Self-signed: its own key verifies it.
  EVP_PKEY* key = X509_get0_pubkey(x509);
  EXPECT_EQ(X509_verify(x509, key), 1);
  // Valid now (the start is back-dated against small clock differences).
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(x509)), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(x509)), 0);
  X509_free(x509);
  // Each start gets a fresh key.
  EXPECT_NE(GenerateServerCertificate()->private_key_pem, certificate->private_key_pem);
}

TEST(Log, LevelsFromTheHostsNames) {
  EXPECT_EQ(Log::ParseLevel("trace"), LogLevel::kTrace);
  EXPECT_EQ(Log::ParseLevel("JSON"), LogLevel::kTrace);
  EXPECT_EQ(Log::ParseLevel("Debug"), LogLevel::kDebug);
  EXPECT_EQ(Log::ParseLevel("WARN"), LogLevel::kWarn);
  EXPECT_EQ(Log::ParseLevel("off"), LogLevel::kOff);
  EXPECT_EQ(Log::ParseLevel("nonsense"), LogLevel::kInfo);
}

TEST(Log, TimestampHasMicrosecondsAndZ) {
  // go-plugin drops lines whose timestamp does not parse with 6 fractional digits.
  EXPECT_TRUE(
      std::regex_match(Log::Timestamp(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << Log::Timestamp();
}

TEST(Log, OffSilencesEverything) {
  LogLevel saved = Log::level();
  Log::SetLevel(LogLevel::kOff);
  EXPECT_FALSE(Log::Enabled(LogLevel::kError));
  Log::SetLevel(LogLevel::kWarn);
  EXPECT_TRUE(Log::Enabled(LogLevel::kError));
  EXPECT_FALSE(Log::Enabled(LogLevel::kInfo));
  Log::SetLevel(saved);
}

TEST(Log, LineIsOneJsonObject) {
  testing::internal::CaptureStderr();
  Log::Write(LogLevel::kWarn, "hello \"world\"\nnext", {{"tf_rpc", "ReadResource"}});
  std::string line = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // the newline in the message is escaped
  nlohmann::json entry = nlohmann::json::parse(line);
  EXPECT_EQ(entry["@level"], "warn");
  EXPECT_EQ(entry["@message"], "hello \"world\"\nnext");
  EXPECT_EQ(entry["tf_rpc"], "ReadResource");
  EXPECT_TRUE(entry.contains("@timestamp"));
}

}  // namespace
}  // namespace arnica::plugin
