#include "serving/witness_flag.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/error_text.h"

namespace microledger {
namespace {

absl::Status CheckWitnessUrl(absl::string_view url) {
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("a --witness URL must be http:// or https:// ",
                                                   "with a host and no query or trailing /: \"",
                                                   QuoteForError(url), "\" ", why));
  };
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://") && !absl::ConsumePrefix(&rest, "https://")) {
    return invalid("has another scheme");
  }
  const absl::string_view host = rest.substr(0, rest.find('/'));
  if (host.empty()) return invalid("has no host");
  if (absl::EndsWith(rest, "/")) return invalid("ends in /");
  for (const char c : rest) {
    if (c == '?' || c == '#' || absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return invalid("has a query, a fragment, a space or a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WitnessEndpoint> ParseWitnessFlag(absl::string_view value) {
  const size_t first_plus = value.find('+');
  const size_t second_plus =
      first_plus == absl::string_view::npos ? first_plus : value.find('+', first_plus + 1);
  const size_t at =
      second_plus == absl::string_view::npos ? second_plus : value.find('@', second_plus + 1);
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("a --witness value must be <verifier key>@<url>, not \"",
                     QuoteForError(value), "\""));
  }
  absl::StatusOr<WitnessKey> key = ParseWitnessVkey(value.substr(0, at));
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--witness verifier key: ", key.status().message()));
  }
  const absl::string_view url = value.substr(at + 1);
  if (absl::Status status = CheckWitnessUrl(url); !status.ok()) return status;
  return WitnessEndpoint{*std::move(key), std::string(url)};
}

absl::StatusOr<std::vector<WitnessEndpoint>> ParseWitnessFlags(
    const std::vector<std::string>& values) {
  std::vector<WitnessEndpoint> endpoints;
  for (const std::string& value : values) {
    absl::StatusOr<WitnessEndpoint> endpoint = ParseWitnessFlag(value);
    if (!endpoint.ok()) return endpoint.status();
    for (const WitnessEndpoint& earlier : endpoints) {
      if (earlier.key.name == endpoint->key.name ||
          earlier.key.public_key == endpoint->key.public_key) {
        return absl::InvalidArgumentError(absl::StrCat(
            "two --witness values name the same witness (", endpoint->key.name, ")"));
      }
    }
    endpoints.push_back(*std::move(endpoint));
  }
  return endpoints;
}

}  // namespace microledger
