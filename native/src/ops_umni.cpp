// Operation: umni (UMNI-CRL, see scorecrl/umni.hpp).
//   arrays  x ((K+1) x N x d), dsx (K x Ns x d)
//   numbers kappa (2), tolEigv (0.05), tolCi (0.05), tolUnmix (0.1), latents (K), prefilter (1)
//   strings intervention ('soft' | 'hard'), order ('lexicographic' | 'l1')
// Returns weightsOrder, encoderOrder, weights, encoder, graphClosure (0/1),
// basis, and with hard interventions hardEncoder, hardGraph (0/1); numbers
// n, candidates, fullTests.
#include "scorecrl/ops.hpp"
#include "scorecrl/umni.hpp"

namespace scorecrl {
namespace {

OpResult opUmni(const OpArgs& args, const Context& context) {
  const ArrayView& x = args.array("x", 3);
  const ArrayView& dsx = args.array("dsx", 3);
  if (x.shape[2] != dsx.shape[2])
    args.fail("'x' has d = " + std::to_string(x.shape[2]) + " columns but 'dsx' has " + std::to_string(dsx.shape[2]));
  UmniOptions options;
  options.kappa = static_cast<int>(args.integer("kappa", 2, -1000000, 1000000));
  options.hard = args.string("intervention", "soft", {"soft", "hard"}) == "hard";
  options.tolEigv = args.number("tolEigv", options.tolEigv);
  options.tolCi = args.number("tolCi", options.tolCi);
  options.tolUnmix = args.number("tolUnmix", options.tolUnmix);
  options.latents = static_cast<int>(args.integer("latents", 0, 0, 1000000));
  options.prefilter = args.flag("prefilter", true);
  options.order = args.string("order", "lexicographic", {"lexicographic", "l1"}) == "l1" ? UmniOrder::L1
                                                                                          : UmniOrder::Lexicographic;
  const UmniResult r = umni(x.data, x.shape[0], x.shape[1], x.shape[2], dsx.data, dsx.shape[0], dsx.shape[1],
                            options, &context);
  OpResult result;
  result.put("weightsOrder", r.weightsOrder);
  result.put("encoderOrder", r.encoderOrder);
  result.put("weights", r.weights);
  result.put("encoder", r.encoder);
  result.put("graphClosure", r.graphClosure.cast<double>());
  result.put("basis", r.basis);
  if (r.hard) {
    result.put("hardEncoder", r.hardEncoder);
    result.put("hardGraph", r.hardGraph.cast<double>());
  }
  result.numbers["n"] = r.n;
  result.numbers["candidates"] = static_cast<double>(r.stats.candidates);
  result.numbers["fullTests"] = static_cast<double>(r.stats.fullTests);
  return result;
}

SCORECRL_OP("umni", opUmni);

}  // namespace
}  // namespace scorecrl
