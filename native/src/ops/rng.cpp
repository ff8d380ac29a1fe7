// Operation randomDraws: a sequence of draws from one NumPy-compatible
// generator, e.g. plan "random:8;standardNormal:8;integers:0:100:8;permutation:10".
#include <sstream>

#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"

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
  Generator rng(static_cast<uint64_t>(args.integer("seed")));
  OpResult result;
  const auto steps = split(args.string("plan"), ';');
  if (steps.empty()) args.fail("'plan' is empty");
  // Two passes: the first checks every step and the memory of all results
  // (each step's values, and a permutation's integers while it is made), so
  // that a plan too large fails at once instead of after drawing.
  limits::Request request("randomDraws");
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t s = 0; s < steps.size(); ++s) {
      const auto fields = split(steps[s], ':');
      const std::string& kind = fields.empty() ? std::string() : fields[0];
      const auto count = [&](size_t index) {
        if (fields.size() != index + 1) args.fail("'plan' step '" + steps[s] + "' has the wrong number of fields");
        const int64_t c = parseInteger(args, steps[s], fields[index]);
        if (c < 0 || c > kMaxDraws) args.fail("'plan' step '" + steps[s] + "': count must be in [0, 1e8]");
        return c;
      };
      if (pass == 0) {
        const std::string what = "draw" + std::to_string(s);
        if (kind == "random" || kind == "standardNormal") {
          request.add(what, {count(1)});
        } else if (kind == "integers") {
          if (fields.size() != 4) args.fail("'plan' step '" + steps[s] + "' must be integers:low:high:count");
          parseInteger(args, steps[s], fields[1]);
          parseInteger(args, steps[s], fields[2]);
          request.add(what, {count(3)});
        } else if (kind == "permutation") {
          request.add(what, {count(1)}, sizeof(double) + sizeof(int64_t));
        } else {
          args.fail("'plan' step '" + steps[s] + "': unknown draw kind '" + kind +
                    "' (use random, standardNormal, integers, permutation)");
        }
        if (s + 1 == steps.size()) request.check();
        continue;
      }
      std::vector<double> values;
      if (kind == "random" || kind == "standardNormal") {
        values.resize(static_cast<size_t>(count(1)));
        if (kind == "random")
          rng.fillRandom(values.data(), values.size());
        else
          rng.fillStandardNormal(values.data(), values.size());
      } else if (kind == "integers") {
        if (fields.size() != 4) args.fail("'plan' step '" + steps[s] + "' must be integers:low:high:count");
        const int64_t low = parseInteger(args, steps[s], fields[1]);
        const int64_t high = parseInteger(args, steps[s], fields[2]);
        const int64_t c = count(3);
        values.reserve(static_cast<size_t>(c));
        for (int64_t i = 0; i < c; ++i) values.push_back(static_cast<double>(rng.integers(low, high)));
      } else if (kind == "permutation") {
        const std::vector<int64_t> permutation = rng.permutation(count(1));
        values.assign(permutation.begin(), permutation.end());
      } else {
        args.fail("'plan' step '" + steps[s] + "': unknown draw kind '" + kind +
                  "' (use random, standardNormal, integers, permutation)");
      }
      const auto size = static_cast<int64_t>(values.size());
      result.put("draw" + std::to_string(s), std::move(values), {size});
    }
  }
  return result;
}

SCORECRL_OP(OpSpec("randomDraws", "Draws from numpy.random.default_rng(seed), step by step on one stream.")
                .integer("seed", std::nullopt, 0, 9007199254740991.0, "the generator's seed")
                .text("plan",
                      "steps separated by ';': random:count, standardNormal:count, integers:low:high:count, "
                      "permutation:count")
                .returnsArray("draw*", "count", "the values of step *"),
            opRandomDraws);

}  // namespace
}  // namespace scorecrl
