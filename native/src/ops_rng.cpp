// Operation randomDraws: a sequence of draws from one NumPy-compatible
// generator, e.g. plan "random:8;standardNormal:8;integers:0:100:8;permutation:10".
#include <sstream>

#include "scorecrl/ops.hpp"
#include "scorecrl/rng.hpp"

namespace scorecrl {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

int64_t parseInteger(const OpArgs& args, const std::string& step, const std::string& text) {
  try {
    size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return value;
  } catch (const std::exception&) {
    args.fail("'plan' step '" + step + "': '" + text + "' is not an integer");
  }
}

constexpr int64_t kMaxDraws = 100'000'000;

OpResult opRandomDraws(const OpArgs& args, const Context&) {
  const double seedValue = args.number("seed");
  if (seedValue < 0 || seedValue != static_cast<double>(static_cast<uint64_t>(seedValue)) || seedValue > 9007199254740991.0)
    args.fail("'seed' must be a non-negative integer below 2^53");
  Generator rng(static_cast<uint64_t>(seedValue));
  OpResult result;
  const auto steps = split(args.string("plan", {}), ';');
  if (steps.empty()) args.fail("'plan' is empty");
  for (size_t s = 0; s < steps.size(); ++s) {
    const auto fields = split(steps[s], ':');
    const std::string& kind = fields.empty() ? std::string() : fields[0];
    const auto count = [&](size_t index) {
      if (fields.size() != index + 1) args.fail("'plan' step '" + steps[s] + "' has the wrong number of fields");
      const int64_t c = parseInteger(args, steps[s], fields[index]);
      if (c < 0 || c > kMaxDraws) args.fail("'plan' step '" + steps[s] + "': count must be in [0, 1e8]");
      return c;
    };
    std::vector<double> values;
    if (kind == "random" || kind == "standardNormal") {
      values.resize(static_cast<size_t>(count(1)));
      if (kind == "random") rng.fillRandom(values.data(), values.size());
      else rng.fillStandardNormal(values.data(), values.size());
    } else if (kind == "integers") {
      if (fields.size() != 4) args.fail("'plan' step '" + steps[s] + "' must be integers:low:high:count");
      const int64_t low = parseInteger(args, steps[s], fields[1]);
      const int64_t high = parseInteger(args, steps[s], fields[2]);
      const int64_t c = count(3);
      for (int64_t i = 0; i < c; ++i) values.push_back(static_cast<double>(rng.integers(low, high)));
    } else if (kind == "permutation") {
      for (int64_t v : rng.permutation(count(1))) values.push_back(static_cast<double>(v));
    } else {
      args.fail("'plan' step '" + steps[s] + "': unknown draw kind '" + kind +
                "' (use random, standardNormal, integers, permutation)");
    }
    const auto size = static_cast<int64_t>(values.size());
    result.put("draw" + std::to_string(s), std::move(values), {size});
  }
  return result;
}

SCORECRL_OP("randomDraws", opRandomDraws);

}  // namespace
}  // namespace scorecrl
