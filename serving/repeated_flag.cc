#include "serving/repeated_flag.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace microledger {

std::vector<std::string> RepeatedFlagValues(int argc, char** argv, absl::string_view name) {
  const std::string long_eq = absl::StrCat("--", name, "=");
  const std::string short_eq = absl::StrCat("-", name, "=");
  const std::string long_alone = absl::StrCat("--", name);
  const std::string short_alone = absl::StrCat("-", name);
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    absl::string_view value;
    if (absl::StartsWith(arg, long_eq)) {
      value = arg.substr(long_eq.size());
    } else if (absl::StartsWith(arg, short_eq)) {
      value = arg.substr(short_eq.size());
    } else if ((arg == long_alone || arg == short_alone) && i + 1 < argc) {
      value = argv[++i];
    } else {
      continue;
    }
    for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      values.emplace_back(part);
    }
  }
  return values;
}

}  // namespace microledger
