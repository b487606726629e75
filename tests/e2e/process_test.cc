// End-to-end tests of the provider as a process: how it starts, what it prints, whom it talks to,
// how it stops. Each test runs the real binary the way go-plugin's host does (see
// tests/e2e/plugin_process.h) and never waits without a deadline.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/e2e/plugin_process.h"
#include "tfplugin6.grpc.pb.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;

std::string ReleaseBinary() {
  return std::string(ARNICA_RELEASE_DIR) + "/terraform-provider-arnica";
}
std::string FixtureBinary() {
  return std::string(ARNICA_FIXTURE_DIR) + "/terraform-provider-arnica";
}

std::unique_ptr<PluginProcess> Spawn(const std::string& binary,
                                     std::map<std::string, std::string> env,
                                     std::vector<std::string> args = {}) {
  PluginProcess::Options options;
  options.binary = binary;
  options.args = std::move(args);
  options.env = std::move(env);
  return std::make_unique<PluginProcess>(std::move(options));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t newline = text.find('\n', start);
    if (newline == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, newline - start));
    start = newline + 1;
  }
  return lines;
}

std::string RandomHex(int digits) {
  std::random_device random;
  std::string out;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < digits; ++i) out.push_back(hex[random() % 16]);
  return out;
}

bool IsSocket(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

bool PathExists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

int CountErrors(const google::protobuf::RepeatedPtrField<tfplugin6::Diagnostic>& diagnostics) {
  int errors = 0;
  for (const auto& d : diagnostics) errors += d.severity() == tfplugin6::Diagnostic::ERROR;
  return errors;
}

std::string Summaries(
    const google::protobuf::RepeatedPtrField<tfplugin6::Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += "[" + d.summary() + ": " + d.detail() + "] ";
  return out;
}

// --- cty msgpack, by hand ------------------------------------------------------------------

void PackString(std::string& out, std::string_view text) {
  if (text.size() < 32) {
    out.push_back(static_cast<char>(0xa0 | text.size()));
  } else if (text.size() < 256) {
    out.push_back(static_cast<char>(0xd9));
    out.push_back(static_cast<char>(text.size()));
  } else if (text.size() < 65536) {
    out.push_back(static_cast<char>(0xda));
    out.push_back(static_cast<char>((text.size() >> 8) & 0xff));
    out.push_back(static_cast<char>(text.size() & 0xff));
  } else {
    out.push_back(static_cast<char>(0xdb));
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((text.size() >> shift) & 0xff));
    }
  }
  out.append(text);
}

void PackMapHeader(std::string& out, size_t entries) {
  if (entries < 16) {
    out.push_back(static_cast<char>(0x80 | entries));
  } else {
    out.push_back(static_cast<char>(0xde));
    out.push_back(static_cast<char>((entries >> 8) & 0xff));
    out.push_back(static_cast<char>(entries & 0xff));
  }
}

// A value of `block`'s implied object type: attributes named in `strings` get that string, every
// other attribute is null, nested blocks are empty (collections) or null (single/group).
std::string EncodeBlock(const tfplugin6::Schema::Block& block,
                        const std::map<std::string, std::string>& strings) {
  std::string out;
  PackMapHeader(out, static_cast<size_t>(block.attributes_size() + block.block_types_size()));
  for (const auto& attribute : block.attributes()) {
    PackString(out, attribute.name());
    auto value = strings.find(attribute.name());
    if (value != strings.end()) {
      PackString(out, value->second);
    } else {
      out.push_back(static_cast<char>(0xc0));
    }
  }
  for (const auto& nested : block.block_types()) {
    PackString(out, nested.type_name());
    switch (nested.nesting()) {
      case tfplugin6::Schema::NestedBlock::LIST:
      case tfplugin6::Schema::NestedBlock::SET:
        out.push_back(static_cast<char>(0x90));  // empty array
        break;
      case tfplugin6::Schema::NestedBlock::MAP:
        out.push_back(static_cast<char>(0x80));  // empty map
        break;
      default:
        out.push_back(static_cast<char>(0xc0));
    }
  }
  return out;
}

// --- Fixtures ------------------------------------------------------------------------------

// Starts a provider like the host does and fails the test if it does not come up.
class ProcessTest : public ::testing::Test {
 protected:
  void Start(const std::string& binary, const std::map<std::string, std::string>& extra = {}) {
    plugin_ = Launch(binary, extra);
    ASSERT_TRUE(plugin_.ok()) << plugin_.error;
    stub_ = tfplugin6::Provider::NewStub(plugin_.channel);
  }

  void ExpectServing(const std::shared_ptr<grpc::Channel>& channel) {
    int status = -1;
    grpc::Status rpc = HealthCheck(channel, "plugin", &status);
    ASSERT_TRUE(rpc.ok()) << rpc.error_code() << " " << rpc.error_message();
    EXPECT_EQ(status, kHealthServing);
  }

  tfplugin6::GetProviderSchema::Response Schema() {
    tfplugin6::GetProviderSchema::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status =
        stub_->GetProviderSchema(&context, tfplugin6::GetProviderSchema::Request(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Asks for Shutdown and returns how the process ended (fails the test if it does not end).
  std::optional<ExitStatus> ShutDown() {
    grpc::Status status = Shutdown(plugin_.channel);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    std::optional<ExitStatus> exit = plugin_.process->Wait(kExitTimeout);
    EXPECT_TRUE(exit.has_value()) << "still running " << kExitTimeout.count()
                                  << " ms after Shutdown";
    return exit;
  }

  LaunchedPlugin plugin_;
  std::unique_ptr<tfplugin6::Provider::Stub> stub_;
};

// One suite per area, all sharing the fixture above.
using ProcessHandshake = ProcessTest;
using ProcessTls = ProcessTest;
using ProcessLifecycle = ProcessTest;
using ProcessLogging = ProcessTest;
using ProcessRpc = ProcessTest;

// --- Start-up refusals ---------------------------------------------------------------------

TEST(ProcessStartup, WithoutMagicCookieExitsOneAndSaysItIsAPlugin) {
  for (const char* cookie : {static_cast<const char*>(nullptr), "not-the-cookie"}) {
    SCOPED_TRACE(cookie == nullptr ? "no cookie" : "wrong cookie");
    auto client = NewClientIdentity();
    auto env = HostEnvironment(client.certificate_pem);
    if (cookie == nullptr) {
      env.erase(kMagicCookieKey);
    } else {
      env[kMagicCookieKey] = cookie;
    }
    auto process = Spawn(ReleaseBinary(), env);
    ASSERT_TRUE(process->started()) << process->spawn_error();
    std::optional<ExitStatus> exit = process->Wait(kExitTimeout);
    ASSERT_TRUE(exit.has_value()) << "did not exit";
    EXPECT_TRUE(exit->exited) << exit->Describe();
    EXPECT_EQ(exit->code, 1);
    bool eof = false;
    EXPECT_EQ(process->ReadStdoutToEof(kExitTimeout, &eof), "");
    EXPECT_TRUE(eof);
    ASSERT_TRUE(process->WaitForStderrEof());
    std::string err = process->Stderr();
    EXPECT_NE(err.find("plugin"), std::string::npos) << err;
    EXPECT_NE(err.find("not meant to be run directly"), std::string::npos) << err;
  }
}

TEST(ProcessStartup, HostOfferingOnlyProtocolFiveIsRefusedNamingProtocolSix) {
  auto client = NewClientIdentity();
  auto process = Spawn(ReleaseBinary(), HostEnvironment(client.certificate_pem,
                                                        {{"PLUGIN_PROTOCOL_VERSIONS", "5"}}));
  ASSERT_TRUE(process->started()) << process->spawn_error();
  std::optional<ExitStatus> exit = process->Wait(kExitTimeout);
  ASSERT_TRUE(exit.has_value()) << "did not exit";
  EXPECT_TRUE(exit->exited) << exit->Describe();
  EXPECT_NE(exit->code, 0);
  EXPECT_EQ(process->ReadStdoutToEof(kExitTimeout), "");
  ASSERT_TRUE(process->WaitForStderrEof());
  std::string err = process->Stderr();
  EXPECT_TRUE(
      std::regex_search(err, std::regex(R"((version|protocol)s?\s+6\b)", std::regex::icase)))
      << err;
}

// --- The handshake -------------------------------------------------------------------------

TEST_F(ProcessHandshake, LineHasSixFieldsAndALocalhostCertificate) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));
  const std::string& line = plugin_.handshake_line;
  const Handshake& handshake = *plugin_.handshake;
  ASSERT_EQ(handshake.fields.size(), 6u) << line;
  EXPECT_EQ(handshake.core_version, 1);
  EXPECT_EQ(handshake.protocol_version, 6);
  EXPECT_EQ(handshake.network, "unix");
  EXPECT_FALSE(handshake.address.empty());
  EXPECT_EQ(handshake.address.rfind("unix:", 0), std::string::npos) << "address must be bare";
  EXPECT_TRUE(IsSocket(handshake.address)) << handshake.address;
  EXPECT_EQ(handshake.protocol, "grpc");

  const std::string& cert = handshake.certificate;
  EXPECT_GT(cert.size(), 50u) << "go-plugin ignores a certificate field of 50 characters or fewer";
  EXPECT_EQ(cert.find('='), std::string::npos) << "padding breaks base64.RawStdEncoding";
  EXPECT_EQ(cert.find('\n'), std::string::npos);
  EXPECT_EQ(cert.find('\r'), std::string::npos);
  std::optional<std::string> der = DecodeBase64RawStd(cert);
  ASSERT_TRUE(der.has_value()) << "not raw std base64: " << cert;
  X509Ptr x509 = ParseDer(*der);
  ASSERT_NE(x509, nullptr) << "not a DER X.509 certificate";

  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr) << "no subjectAltName";
  bool localhost = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const unsigned char* data = ASN1_STRING_get0_data(name->d.dNSName);
    std::string dns(reinterpret_cast<const char*>(data),
                    static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
    localhost = localhost || dns == "localhost";
  }
  GENERAL_NAMES_free(names);
  EXPECT_TRUE(localhost) << "no DNS SAN localhost";
}

TEST_F(ProcessHandshake, EitherOrderOfTheHostsProtocolListNegotiatesSix) {
  for (const char* versions : {"5,6", "6,5"}) {
    SCOPED_TRACE(versions);
    LaunchedPlugin plugin = Launch(ReleaseBinary(), {{"PLUGIN_PROTOCOL_VERSIONS", versions}});
    ASSERT_TRUE(plugin.ok()) << plugin.error;
    EXPECT_EQ(plugin.handshake->protocol_version, 6);
  }
}

// --- Mutual TLS ----------------------------------------------------------------------------

TEST_F(ProcessTls, ClientWithTheHostsCertificateIsServed) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  tfplugin6::GetProviderSchema::Response schema = Schema();
  EXPECT_TRUE(schema.has_provider());
  EXPECT_EQ(CountErrors(schema.diagnostics()), 0) << Summaries(schema.diagnostics());
}

// Requirement pinned (AutoMTLS, protocol.md §1.4): the plugin trusts ONLY the certificate the host
// passed in PLUGIN_CLIENT_CERT (RequireAndVerifyClientCert). A client presenting any other
// certificate, or none, must be refused, and refusing it must not disturb the real host.
TEST_F(ProcessTls, ClientWithADifferentCertificateIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));

  arnica::plugin::ServerCertificate stranger = NewClientIdentity();
  ASSERT_FALSE(stranger.certificate_pem.empty());
  ASSERT_NE(stranger.certificate_pem, plugin_.client.certificate_pem);
  std::shared_ptr<grpc::Channel> foreign = Dial(*plugin_.handshake, stranger);
  int status = -1;
  grpc::Status health = HealthCheck(foreign, "plugin", &status);
  EXPECT_FALSE(health.ok()) << "a client with a foreign certificate was served";
  EXPECT_TRUE(health.error_code() == grpc::StatusCode::UNAVAILABLE ||
              health.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
              health.error_code() == grpc::StatusCode::PERMISSION_DENIED)
      << health.error_code() << " " << health.error_message();
  {
    auto stub = tfplugin6::Provider::NewStub(foreign);
    tfplugin6::GetProviderSchema::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status rpc =
        stub->GetProviderSchema(&context, tfplugin6::GetProviderSchema::Request(), &response);
    EXPECT_FALSE(rpc.ok()) << "GetProviderSchema served to a foreign certificate";
  }

  // A TLS client with no certificate at all.
  {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = DerToPem(*DecodeBase64RawStd(plugin_.handshake->certificate));
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetSslTargetNameOverride("localhost");
    auto anonymous = grpc::CreateCustomChannel(plugin_.handshake->GrpcTarget(),
                                               grpc::SslCredentials(options), arguments);
    grpc::Status rpc = HealthCheck(anonymous, "plugin", &status);
    EXPECT_FALSE(rpc.ok()) << "a client without a certificate was served";
  }

  // A plaintext client.
  {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto plaintext = grpc::CreateCustomChannel(plugin_.handshake->GrpcTarget(),
                                               grpc::InsecureChannelCredentials(), arguments);
    grpc::Status rpc = HealthCheck(plaintext, "plugin", &status);
    EXPECT_FALSE(rpc.ok()) << "a plaintext client was served";
  }

  EXPECT_TRUE(plugin_.process->running()) << plugin_.process->Stderr();
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  EXPECT_TRUE(Schema().has_provider());

  // gRPC's own report of the refused handshakes reaches the host as JSON log lines too
  // (regression: it used to print glog-style text, which the host cannot parse).
  std::string err = plugin_.process->Stderr();
  ASSERT_NE(err.find("grpc: "), std::string::npos) << err;
  for (const std::string& line : Lines(err)) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(entry.is_object() && entry.contains("@level")) << line;
  }
}

// --- Lifecycle -----------------------------------------------------------------------------

TEST_F(ProcessLifecycle, ShutdownExitsZeroRemovesSocketAndStdoutHeldOnlyTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));
  const std::string socket = plugin_.handshake->address;
  ASSERT_TRUE(IsSocket(socket));
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));

  std::optional<ExitStatus> exit = ShutDown();
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->exited) << exit->Describe();
  EXPECT_EQ(exit->code, 0);
  EXPECT_FALSE(PathExists(socket)) << socket << " left behind";

  bool eof = false;
  EXPECT_EQ(plugin_.process->ReadStdoutToEof(kExitTimeout, &eof), "");
  EXPECT_TRUE(eof);
  EXPECT_EQ(plugin_.process->stdout_seen(), plugin_.handshake_line + "\n");
}

TEST_F(ProcessLifecycle, SigintDoesNotStopIt) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(plugin_.process->Signal(SIGINT));
    std::this_thread::sleep_for(Millis(300));
    ASSERT_TRUE(plugin_.process->running())
        << "SIGINT stopped the provider: " << plugin_.process->Wait(Millis(0))->Describe();
  }
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  EXPECT_TRUE(Schema().has_provider());
  std::optional<ExitStatus> exit = ShutDown();
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->code, 0) << exit->Describe();
}

// Every descriptor the provider holds beyond stdio must be close-on-exec, or any program it ever
// starts keeps the host's pipes (and the host waiting) alive.
TEST_F(ProcessLifecycle, NoFileDescriptorLeaksIntoChildren) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  EXPECT_TRUE(Schema().has_provider());

  const std::string proc = "/proc/" + std::to_string(plugin_.process->pid());
  int inspected = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(proc + "/fd", error)) {
    std::string name = entry.path().filename().string();
    int fd = std::stoi(name);
    if (fd <= 2) continue;
    std::ifstream info(proc + "/fdinfo/" + name);
    if (!info) continue;  // closed since the listing
    std::string line;
    std::optional<long> flags;
    while (std::getline(info, line)) {
      if (line.rfind("flags:", 0) == 0) flags = std::stol(line.substr(6), nullptr, 8);
    }
    ASSERT_TRUE(flags.has_value()) << "no flags for fd " << fd;
    std::error_code link_error;
    std::string target = fs::read_symlink(entry.path(), link_error).string();
    EXPECT_NE(*flags & 02000000, 0) << "fd " << fd << " (" << target << ") lacks O_CLOEXEC";
    ++inspected;
  }
  ASSERT_FALSE(error) << error.message();
  // The listener and the host's connection at least: an empty listing would prove nothing.
  EXPECT_GE(inspected, 2);
}

// --- Logging -------------------------------------------------------------------------------

TEST_F(ProcessLogging, TraceLogIsOneJsonObjectPerLine) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary(), {{"TF_LOG_PROVIDER", "TRACE"}}));
  EXPECT_TRUE(Schema().has_provider());
  {
    tfplugin6::GetMetadata_::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    EXPECT_TRUE(stub_->GetMetadata(&context, tfplugin6::GetMetadata_::Request(), &response).ok());
  }
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  std::optional<ExitStatus> exit = ShutDown();
  ASSERT_TRUE(exit.has_value());
  ASSERT_TRUE(plugin_.process->WaitForStderrEof());

  const std::string err = plugin_.process->Stderr();
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(), '\n') << "last log line is unterminated";
  const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error"};
  const std::regex timestamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$)");
  bool saw_rpc = false;
  for (const std::string& line : Lines(err)) {
    SCOPED_TRACE(line);
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(entry.is_object()) << "not a JSON object";
    ASSERT_TRUE(entry.contains("@level") && entry["@level"].is_string());
    EXPECT_EQ(levels.count(entry["@level"].get<std::string>()), 1u);
    ASSERT_TRUE(entry.contains("@message"));
    EXPECT_TRUE(entry["@message"].is_string());
    ASSERT_TRUE(entry.contains("@timestamp") && entry["@timestamp"].is_string());
    EXPECT_TRUE(std::regex_match(entry["@timestamp"].get<std::string>(), timestamp));
    saw_rpc = saw_rpc || line.find("GetProviderSchema") != std::string::npos;
  }
  EXPECT_TRUE(saw_rpc) << "the RPCs were not logged at TRACE:\n" << err;
}

// A sensitive provider attribute must never reach the log, even at TRACE.
TEST_F(ProcessLogging, ProviderSecretCanaryNeverAppearsInStderr) {
  ASSERT_NO_FATAL_FAILURE(Start(FixtureBinary(), {{"TF_LOG_PROVIDER", "TRACE"}}));
  const std::string canary = "canary-" + RandomHex(24);

  tfplugin6::GetProviderSchema::Response schema = Schema();
  const tfplugin6::Schema::Block& block = schema.provider().block();
  const tfplugin6::Schema::Attribute* token = nullptr;
  for (const auto& attribute : block.attributes()) {
    if (attribute.name() == "fixture_token") token = &attribute;
  }
  ASSERT_NE(token, nullptr) << "the fixture build has no fixture_token provider attribute";
  EXPECT_EQ(nlohmann::json::parse(token->type(), nullptr, false), "string");
  EXPECT_TRUE(token->sensitive());
  // Other provider attributes (none today) are sent as null, nested blocks as empty.
  tfplugin6::DynamicValue config;
  config.set_msgpack(EncodeBlock(block, {{"fixture_token", canary}}));
  ASSERT_NE(config.msgpack().find(canary), std::string::npos);

  {
    tfplugin6::ValidateProviderConfig::Request request;
    *request.mutable_config() = config;
    tfplugin6::ValidateProviderConfig::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->ValidateProviderConfig(&context, request, &response).ok());
    EXPECT_EQ(CountErrors(response.diagnostics()), 0) << Summaries(response.diagnostics());
  }
  {
    tfplugin6::ConfigureProvider::Request request;
    request.set_terraform_version("1.10.0");
    *request.mutable_config() = config;
    tfplugin6::ConfigureProvider::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->ConfigureProvider(&context, request, &response).ok());
    EXPECT_EQ(CountErrors(response.diagnostics()), 0) << Summaries(response.diagnostics());
  }
  // Also an answer that quotes the configuration back would be a leak: the refused token path.
  {
    tfplugin6::ConfigureProvider::Request request;
    tfplugin6::DynamicValue refused;
    refused.set_msgpack(EncodeBlock(block, {{"fixture_token", "reject-me"}}));
    *request.mutable_config() = refused;
    tfplugin6::ConfigureProvider::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->ConfigureProvider(&context, request, &response).ok());
  }

  std::optional<ExitStatus> exit = ShutDown();
  ASSERT_TRUE(exit.has_value());
  ASSERT_TRUE(plugin_.process->WaitForStderrEof());
  const std::string err = plugin_.process->Stderr();
  EXPECT_NE(err.find("ConfigureProvider"), std::string::npos)
      << "ConfigureProvider was not logged, so the check below proves nothing:\n"
      << err;
  EXPECT_EQ(err.find(canary), std::string::npos) << "the canary leaked into stderr:\n" << err;
  EXPECT_EQ(err.find(canary.substr(7)), std::string::npos) << "part of the canary leaked";
}

// --- Robustness of the RPC surface ---------------------------------------------------------

TEST_F(ProcessRpc, UnsupportedRpcsAnswerWithDiagnostics) {
  ASSERT_NO_FATAL_FAILURE(Start(ReleaseBinary()));
  {
    tfplugin6::OpenEphemeralResource::Request request;
    request.set_type_name("arnica_nope");
    tfplugin6::OpenEphemeralResource::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub_->OpenEphemeralResource(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_GE(CountErrors(response.diagnostics()), 1);
  }
  {
    tfplugin6::ListResource::Request request;
    request.set_type_name("arnica_nope");
    grpc::ClientContext context;
    SetDeadline(&context);
    auto reader = stub_->ListResource(&context, request);
    tfplugin6::ListResource::Event event;
    int errors = 0;
    int events = 0;
    while (reader->Read(&event)) {
      ++events;
      errors += CountErrors(event.diagnostic());
    }
    grpc::Status status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_GE(events, 1);
    EXPECT_GE(errors, 1);
  }
  EXPECT_TRUE(plugin_.process->running());
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
}

TEST_F(ProcessRpc, GarbageProposedStateIsADiagnosticNotACrash) {
  ASSERT_NO_FATAL_FAILURE(Start(FixtureBinary(), {{"ARNICA_FIXTURE_STORE", "/nonexistent"}}));
  tfplugin6::GetProviderSchema::Response schema = Schema();
  auto resource = schema.resource_schemas().find("arnica_protocol_fixture");
  ASSERT_NE(resource, schema.resource_schemas().end());
  {
    tfplugin6::ConfigureProvider::Request request;
    request.mutable_config()->set_msgpack(EncodeBlock(schema.provider().block(), {}));
    tfplugin6::ConfigureProvider::Response response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->ConfigureProvider(&context, request, &response).ok());
    ASSERT_EQ(CountErrors(response.diagnostics()), 0) << Summaries(response.diagnostics());
  }
  const std::string config = EncodeBlock(resource->second.block(), {{"name", "e2e"}});
  auto plan = [&](const std::string& proposed, tfplugin6::PlanResourceChange::Response* response) {
    tfplugin6::PlanResourceChange::Request request;
    request.set_type_name("arnica_protocol_fixture");
    request.mutable_prior_state()->set_msgpack(std::string(1, static_cast<char>(0xc0)));
    request.mutable_proposed_new_state()->set_msgpack(proposed);
    request.mutable_config()->set_msgpack(config);
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub_->PlanResourceChange(&context, request, response);
  };

  // Control: the same request with a well-formed proposal plans without error.
  {
    tfplugin6::PlanResourceChange::Response response;
    grpc::Status status = plan(config, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(CountErrors(response.diagnostics()), 0) << Summaries(response.diagnostics());
  }
  // 0xc1 is never valid msgpack; the rest is truncated or trailing garbage.
  for (const std::string& garbage :
       {std::string("\xc1\xc1\xc1 not msgpack at all"), std::string("\x8f\xa4name"),
        config + "\x01\x02", std::string("\xdf\xff\xff\xff\xff")}) {
    tfplugin6::PlanResourceChange::Response response;
    grpc::Status status = plan(garbage, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_GE(CountErrors(response.diagnostics()), 1) << "garbage accepted";
    EXPECT_TRUE(response.planned_state().msgpack().empty());
  }
  EXPECT_TRUE(plugin_.process->running()) << plugin_.process->Stderr();
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
  EXPECT_TRUE(Schema().has_provider());
}

TEST_F(ProcessRpc, MessagesFarBeyondGrpcsFourMebibyteDefaultAreAccepted) {
  // Large configurations reach the provider whole; gRPC's default 4 MiB cap is raised to 256 MiB.
  ASSERT_NO_FATAL_FAILURE(Start(FixtureBinary()));
  tfplugin6::GetProviderSchema::Response schema = Schema();
  const auto& block = schema.resource_schemas().at("arnica_protocol_fixture").block();
  const std::string big_name(24 << 20, 'n');
  const std::string config = EncodeBlock(block, {{"name", big_name}});
  tfplugin6::PlanResourceChange::Request request;
  request.set_type_name("arnica_protocol_fixture");
  request.mutable_prior_state()->set_msgpack(std::string("\xc0", 1));
  request.mutable_proposed_new_state()->set_msgpack(config);
  request.mutable_config()->set_msgpack(config);
  tfplugin6::PlanResourceChange::Response response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub_->PlanResourceChange(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(CountErrors(response.diagnostics()), 0) << Summaries(response.diagnostics());
  EXPECT_GT(response.planned_state().msgpack().size(), big_name.size());
}

// --- A host that dies -----------------------------------------------------------------------

// Regression: a host killed with SIGKILL never sends Shutdown, and the provider lived on as an
// orphan holding its socket. The test stands in for the host with a child process that starts
// the provider and is then killed.
TEST(ProcessOrphan, ExitsAndRemovesItsSocketWhenTheHostIsKilled) {
  std::string socket_dir = "/tmp/arnica-orphan-XXXXXX";
  ASSERT_NE(::mkdtemp(socket_dir.data()), nullptr);
  std::map<std::string, std::string> env = HostEnvironment(
      NewClientIdentity().certificate_pem, {{"PLUGIN_UNIX_SOCKET_DIR", socket_dir}});
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::string binary = ReleaseBinary();
  int pid_pipe[2];
  ASSERT_EQ(::pipe(pid_pipe), 0);

  pid_t host = ::fork();
  ASSERT_GE(host, 0);
  if (host == 0) {  // the stand-in host: start the provider, report its pid, wait to be killed
    pid_t provider = ::fork();
    if (provider == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      char* argv[] = {binary.data(), nullptr};
      ::execve(binary.c_str(), argv, envp.data());
      ::_exit(127);
    }
    ::write(pid_pipe[1], &provider, sizeof provider);
    for (;;) ::pause();
  }
  ::close(pid_pipe[1]);
  pid_t provider = 0;
  ASSERT_EQ(::read(pid_pipe[0], &provider, sizeof provider), static_cast<ssize_t>(sizeof provider));
  ::close(pid_pipe[0]);

  auto sockets = [&] {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(socket_dir)) {
      count += entry.is_socket() ? 1 : 0;
    }
    return count;
  };
  // Serving: its socket appears.
  for (int i = 0; i < 200 && sockets() == 0; ++i) ::usleep(50 * 1000);
  ASSERT_EQ(sockets(), 1);

  ::kill(host, SIGKILL);
  ::waitpid(host, nullptr, 0);
  // Gone (or a zombie nobody reaps, in a container without an init): state 'Z' or no /proc entry.
  auto alive = [&] {
    std::ifstream stat("/proc/" + std::to_string(provider) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    return !text.empty() && paren != std::string::npos && text.substr(paren + 2, 1) != "Z";
  };
  for (int i = 0; i < 200 && alive(); ++i) ::usleep(50 * 1000);
  bool still_alive = alive();
  if (still_alive) ::kill(provider, SIGKILL);  // our own grandchild; never leave it behind
  EXPECT_FALSE(still_alive) << "the provider outlived its host";
  EXPECT_EQ(sockets(), 0) << "socket left in " << socket_dir;
  std::filesystem::remove_all(socket_dir);
}

// --- Debug mode ----------------------------------------------------------------------------

TEST(ProcessDebug, DebugFlagPrintsReattachJsonAndStopsOnSigterm) {
  auto process = Spawn(ReleaseBinary(), {{"PATH", "/usr/bin:/bin"}}, {"--debug"});
  ASSERT_TRUE(process->started()) << process->spawn_error();
  std::optional<std::string> line = process->ReadStdoutLine(kHandshakeTimeout);
  ASSERT_TRUE(line.has_value()) << "no line; stderr:\n" << process->Stderr();
  const std::string prefix = "TF_REATTACH_PROVIDERS='";
  ASSERT_EQ(line->rfind(prefix, 0), 0u) << *line;
  ASSERT_EQ(line->back(), '\'') << *line;
  nlohmann::json reattach = nlohmann::json::parse(
      line->substr(prefix.size(), line->size() - prefix.size() - 1), nullptr, false);
  ASSERT_TRUE(reattach.is_object()) << *line;
  ASSERT_EQ(reattach.size(), 1u) << *line;
  const nlohmann::json& entry = reattach.begin().value();
  EXPECT_EQ(entry.value("ProtocolVersion", 0), 6);
  EXPECT_EQ(entry.value("Test", false), true);
  EXPECT_EQ(entry.value("Pid", 0), process->pid());
  ASSERT_TRUE(entry.contains("Addr") && entry["Addr"].is_object()) << *line;
  EXPECT_EQ(entry["Addr"].value("Network", ""), "unix");
  const std::string socket = entry["Addr"].value("String", "");
  EXPECT_TRUE(IsSocket(socket)) << socket;

  // Debug servers speak plaintext: reattached hosts use no TLS.
  Handshake handshake;
  handshake.network = "unix";
  handshake.address = socket;
  auto channel = Dial(handshake, {});
  int status = -1;
  grpc::Status health = HealthCheck(channel, "plugin", &status);
  EXPECT_TRUE(health.ok()) << health.error_message();
  EXPECT_EQ(status, kHealthServing);

  ASSERT_TRUE(process->Signal(SIGTERM));
  std::optional<ExitStatus> exit = process->Wait(kExitTimeout);
  ASSERT_TRUE(exit.has_value()) << "SIGTERM did not stop the debug server";
  EXPECT_TRUE(exit->exited) << exit->Describe();
  EXPECT_EQ(exit->code, 0);
  EXPECT_FALSE(PathExists(socket)) << socket << " left behind";
}

// --- Listener fallback ---------------------------------------------------------------------

// A unix socket path must fit sockaddr_un.sun_path (108 bytes); beyond that the provider listens
// on loopback TCP within the host's port range.
TEST(ProcessListener, OverlongSocketDirectoryFallsBackToTcpInThePortRange) {
  char base_template[] = "/tmp/arnica-process-test-XXXXXX";
  ASSERT_NE(::mkdtemp(base_template), nullptr);
  const std::string base = base_template;
  const std::string dir = base + "/" + std::string(110, 'd');
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_GT(dir.size(), 108u);
  struct Cleanup {
    std::string base;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(base, ignored);
    }
  } cleanup{base};

  constexpr int kMin = 20040;
  constexpr int kMax = 20059;
  LaunchedPlugin plugin = Launch(ReleaseBinary(), {{"PLUGIN_UNIX_SOCKET_DIR", dir},
                                                   {"PLUGIN_MIN_PORT", std::to_string(kMin)},
                                                   {"PLUGIN_MAX_PORT", std::to_string(kMax)}});
  ASSERT_TRUE(plugin.ok()) << plugin.error;
  const Handshake& handshake = *plugin.handshake;
  EXPECT_EQ(handshake.network, "tcp") << plugin.handshake_line;
  const std::string host = "127.0.0.1:";
  ASSERT_EQ(handshake.address.rfind(host, 0), 0u) << handshake.address;
  int port = std::stoi(handshake.address.substr(host.size()));
  EXPECT_GE(port, kMin);
  EXPECT_LE(port, kMax);
  EXPECT_EQ(handshake.fields.size(), 6u);

  int status = -1;
  grpc::Status health = HealthCheck(plugin.channel, "plugin", &status);
  EXPECT_TRUE(health.ok()) << health.error_message();
  EXPECT_EQ(status, kHealthServing);
  // Nothing was created in the directory that was too long to use.
  EXPECT_TRUE(fs::is_empty(dir));

  ASSERT_TRUE(Shutdown(plugin.channel).ok());
  std::optional<ExitStatus> exit = plugin.process->Wait(kExitTimeout);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->code, 0) << exit->Describe();
}

// --- RPCs a host outside OpenTofu's normal cycle may call ----------------------------------------

TEST_F(ProcessRpc, GetMetadataListsEveryObjectType) {
  // OpenTofu does not call it, but terraform-plugin-mux and Terraform's tooling do.
  ASSERT_NO_FATAL_FAILURE(Start(FixtureBinary()));
  tfplugin6::GetMetadata_::Response response;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(stub_->GetMetadata(&context, tfplugin6::GetMetadata_::Request(), &response).ok());
  EXPECT_EQ(CountErrors(response.diagnostics()), 0);
  std::set<std::string> resources, data_sources;
  for (const auto& resource : response.resources()) resources.insert(resource.type_name());
  for (const auto& data_source : response.data_sources()) {
    data_sources.insert(data_source.type_name());
  }
  EXPECT_EQ(resources, (std::set<std::string>{
                           "arnica_bitbucket_credential", "arnica_bitbucket_group_membership",
                           "arnica_bitbucket_group_memberships", "arnica_bitbucket_integration",
                           "arnica_protocol_fixture"}));
  EXPECT_EQ(data_sources,
            (std::set<std::string>{"arnica_bitbucket_user", "arnica_bitbucket_workspaces",
                                   "arnica_protocol_fixture"}));
  std::set<std::string> functions;
  for (const auto& function : response.functions()) functions.insert(function.name());
  EXPECT_EQ(functions, (std::set<std::string>{"fixture_upper", "required_scopes"}));
  EXPECT_FALSE(response.server_capabilities().plan_destroy());
}

TEST_F(ProcessRpc, StopProviderAnswersAndTheProcessKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(Start(FixtureBinary()));
  tfplugin6::StopProvider::Response response;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(stub_->StopProvider(&context, tfplugin6::StopProvider::Request(), &response).ok());
  EXPECT_TRUE(response.error().empty());
  // Stopping cancels work; it does not end the process (Shutdown does).
  ASSERT_NO_FATAL_FAILURE(ExpectServing(plugin_.channel));
}

TEST_F(ProcessRpc, CallFunctionReportsArgumentErrors) {
  ASSERT_NO_FATAL_FAILURE(Start(FixtureBinary()));
  auto call = [&](const std::string& msgpack_argument, tfplugin6::CallFunction::Response* out) {
    tfplugin6::CallFunction::Request request;
    request.set_name("fixture_upper");
    request.add_arguments()->set_msgpack(msgpack_argument);
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub_->CallFunction(&context, request, out);
  };
  tfplugin6::CallFunction::Response upper;
  ASSERT_TRUE(call(std::string("\xa2hi", 3), &upper).ok());
  EXPECT_FALSE(upper.has_error()) << upper.error().text();
  EXPECT_EQ(upper.result().msgpack(), std::string("\xa2HI", 3));

  tfplugin6::CallFunction::Response empty;
  ASSERT_TRUE(call(std::string("\xa0", 1), &empty).ok());
  EXPECT_EQ(empty.error().function_argument(), 0);
  EXPECT_FALSE(empty.error().text().empty());

  tfplugin6::CallFunction::Response garbage;
  ASSERT_TRUE(call(std::string("\xc1", 1), &garbage).ok());
  EXPECT_TRUE(garbage.has_error());
  EXPECT_EQ(garbage.error().function_argument(), 0);
}

}  // namespace
}  // namespace arnica::e2e
