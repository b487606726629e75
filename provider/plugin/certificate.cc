#include "provider/plugin/certificate.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace arnica::plugin {
namespace {

// One RAII owner per OpenSSL type; each is move-only through unique_ptr.
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BignumFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;
using Bignum = std::unique_ptr<BIGNUM, BignumFree>;

// P-256 keeps the handshake inside what every gRPC release accepts; the host verifies any curve.
constexpr char kCurve[] = "P-256";
constexpr long kNotBeforeSkewSeconds = -30;  // tolerate clocks slightly behind ours
constexpr long kValiditySeconds = 30L * 24 * 3600;
constexpr int kSerialBits = 128;

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

bool AddExtension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) return false;
  bool added = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

bool SetRandomSerial(X509* certificate) {
  Bignum serial(BN_new());
  if (!serial || BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return false;
  }
  return BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) != nullptr;
}

bool FillCertificate(X509* certificate, EVP_PKEY* key, const std::string& subject_alt_names) {
  X509_NAME* name = X509_get_subject_name(certificate);
  const auto* organisation = reinterpret_cast<const unsigned char*>("HashiCorp");
  const auto* common_name = reinterpret_cast<const unsigned char*>("localhost");
  return X509_set_version(certificate, 2) == 1 && SetRandomSerial(certificate) &&
         X509_gmtime_adj(X509_getm_notBefore(certificate), kNotBeforeSkewSeconds) != nullptr &&
         X509_gmtime_adj(X509_getm_notAfter(certificate), kValiditySeconds) != nullptr &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, organisation, -1, -1, 0) == 1 &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, common_name, -1, -1, 0) == 1 &&
         X509_set_issuer_name(certificate, name) == 1 && X509_set_pubkey(certificate, key) == 1 &&
         AddExtension(certificate, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExtension(certificate, NID_key_usage,
                      "critical,digitalSignature,keyEncipherment,keyAgreement,keyCertSign") &&
         AddExtension(certificate, NID_ext_key_usage, "serverAuth,clientAuth") &&
         AddExtension(certificate, NID_subject_alt_name, subject_alt_names.c_str()) &&
         X509_sign(certificate, key, EVP_sha256()) > 0;
}

}  // namespace

absl::StatusOr<ServerCertificate> GenerateServerCertificate(const std::string& subject_alt_names) {
  Pkey key(EVP_EC_gen(kCurve));
  if (!key) return absl::InternalError("could not generate the TLS server key");
  Certificate certificate(X509_new());
  if (!certificate || !FillCertificate(certificate.get(), key.get(), subject_alt_names)) {
    return absl::InternalError("could not build the TLS server certificate");
  }

  ServerCertificate out;
  Bio cert_pem(BIO_new(BIO_s_mem()));
  Bio key_pem(BIO_new(BIO_s_mem()));
  if (!cert_pem || !key_pem || PEM_write_bio_X509(cert_pem.get(), certificate.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_pem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return absl::InternalError("could not encode the TLS server certificate");
  }
  out.certificate_pem = BioContents(cert_pem.get());
  out.private_key_pem = BioContents(key_pem.get());

  int der_size = i2d_X509(certificate.get(), nullptr);
  if (der_size <= 0) return absl::InternalError("could not encode the certificate as DER");
  out.certificate_der.resize(static_cast<size_t>(der_size));
  auto* cursor = reinterpret_cast<unsigned char*>(out.certificate_der.data());
  i2d_X509(certificate.get(), &cursor);
  return out;
}

std::string Base64RawStd(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(bytes.data()),
                               static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(length));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

}  // namespace arnica::plugin
