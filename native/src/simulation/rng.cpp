// scorecrl::Generator: NumPy's default_rng (SeedSequence -> PCG64) and the
// distributions scorecrl draws from, written from the published algorithms:
//  - SeedSequence (M. O'Neill's seed_seq design as NumPy implements it):
//    entropy as 32-bit words, a 4-word pool filled by a multiplicative hash
//    and mixed all-to-all, then generate_state(4, uint64) hashes the pool
//    cyclically into 8 words, read pairwise little-endian as 4 uint64.
//  - PCG64 (pcg_setseq_128_xsl_rr_64): 128-bit LCG, state <- state*M + inc,
//    output = rotr64(high ^ low, state >> 122) of the new state. Seeding:
//    inc = (w2:w3) << 1 | 1; state = 0; step; state += (w0:w1); step.
//  - doubles: (u64 >> 11) * 2^-53; bounded integers: Lemire's
//    multiply-shift with rejection (arXiv:1805.10941); shuffles: Fisher-Yates
//    from the top with masked rejection sampling for each index.
//  - normals: Marsaglia-Tsang ziggurat with 256 layers on a 52-bit
//    mantissa, 8-bit layer index and a sign bit from one 64-bit word, as in
//    NumPy's random_standard_normal; tables from gen_rng_expected.py.
#include "scorecrl/simulation/rng.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "scorecrl/runtime/error.hpp"

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

// NumPy's C computes a*b + c as a rounded product then a rounded sum. Keep
// the compiler from fusing them into an FMA (e.g. with -mfma / -march=native
// and GNU dialects), which would change low bits and, rarely, a decision.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#elif defined(_MSC_VER)
#pragma fp_contract(off)
#endif

#if defined(__SIZEOF_INT128__) && !defined(SCORECRL_RNG_NO_INT128) && !defined(__wasm__)
#define SCORECRL_RNG_HAVE_INT128 1
#endif

namespace scorecrl {
namespace {

// ---------------------------------------------------------------- PCG64 core

// 128-bit LCG multiplier of PCG64 (PCG_DEFAULT_MULTIPLIER_128).
constexpr uint64_t kMulHi = 0x2360ED051FC65DA4ULL;
constexpr uint64_t kMulLo = 0x4385DF649FCCF645ULL;

inline uint64_t rotr64(uint64_t v, unsigned rot) { return (v >> rot) | (v << ((64u - rot) & 63u)); }

// High 64 bits of a 64x64 product.
inline uint64_t mulhi64(uint64_t a, uint64_t b) {
#if defined(SCORECRL_RNG_HAVE_INT128)
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
#elif defined(_MSC_VER) && defined(_M_X64) && !defined(__clang__)
  return __umulh(a, b);
#else
  const uint64_t a0 = a & 0xFFFFFFFFULL, a1 = a >> 32;
  const uint64_t b0 = b & 0xFFFFFFFFULL, b1 = b >> 32;
  const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFULL) + (p10 & 0xFFFFFFFFULL);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

// Working copy of the LCG state, kept in registers inside loops.
struct Pcg {
#if defined(SCORECRL_RNG_HAVE_INT128)
  using u128 = unsigned __int128;
  u128 state, inc;
  Pcg(uint64_t sh, uint64_t sl, uint64_t ih, uint64_t il)
      : state((static_cast<u128>(sh) << 64) | sl), inc((static_cast<u128>(ih) << 64) | il) {}
  void store(uint64_t& sh, uint64_t& sl) const {
    sh = static_cast<uint64_t>(state >> 64);
    sl = static_cast<uint64_t>(state);
  }
  inline uint64_t next() {
    static constexpr u128 kMul = (static_cast<u128>(kMulHi) << 64) | kMulLo;
    state = state * kMul + inc;
    const uint64_t hi = static_cast<uint64_t>(state >> 64);
    return rotr64(hi ^ static_cast<uint64_t>(state), static_cast<unsigned>(hi >> 58));
  }
#else
  uint64_t hi, lo, ihi, ilo;
  Pcg(uint64_t sh, uint64_t sl, uint64_t ih, uint64_t il) : hi(sh), lo(sl), ihi(ih), ilo(il) {}
  void store(uint64_t& sh, uint64_t& sl) const {
    sh = hi;
    sl = lo;
  }
  inline uint64_t next() {
    uint64_t nlo = lo * kMulLo;
    uint64_t nhi = mulhi64(lo, kMulLo) + hi * kMulLo + lo * kMulHi;
    nlo += ilo;
    nhi += ihi + (nlo < ilo ? 1u : 0u);
    hi = nhi;
    lo = nlo;
    return rotr64(hi ^ lo, static_cast<unsigned>(hi >> 58));
  }
#endif
  inline double nextDouble() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
};

// ------------------------------------------------------------ SeedSequence

constexpr uint32_t kInitA = 0x43b0d7e5u;
constexpr uint32_t kMultA = 0x931e8875u;
constexpr uint32_t kInitB = 0x8b51f9ddu;
constexpr uint32_t kMultB = 0x58f38dedu;
constexpr uint32_t kMixMultL = 0xca01f9ddu;
constexpr uint32_t kMixMultR = 0x4973f715u;
constexpr unsigned kXShift = 16;  // 4 bytes * 8 / 2
constexpr int kPoolSize = 4;

uint32_t hashmix(uint32_t value, uint32_t& hashConst) {
  value ^= hashConst;
  hashConst *= kMultA;
  value *= hashConst;
  value ^= value >> kXShift;
  return value;
}

uint32_t mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

// SeedSequence(seed).generate_state(4, uint64). The seed's entropy words are
// (low, high); a high word of 0 hashes like the missing word it replaces, so
// seeds below 2^32 need no special case.
void seedSequenceState(uint64_t seed, uint64_t out[4]) {
  const uint32_t entropy[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  uint32_t pool[kPoolSize];
  uint32_t hashConst = kInitA;
  for (int i = 0; i < kPoolSize; ++i) pool[i] = hashmix(i < 2 ? entropy[i] : 0u, hashConst);
  for (int src = 0; src < kPoolSize; ++src)
    for (int dst = 0; dst < kPoolSize; ++dst)
      if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], hashConst));
  uint32_t words[8];
  uint32_t h = kInitB;
  for (int i = 0; i < 8; ++i) {
    uint32_t v = pool[i % kPoolSize];
    v ^= h;
    h *= kMultB;
    v *= h;
    v ^= v >> kXShift;
    words[i] = v;
  }
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<uint64_t>(words[2 * i]) | (static_cast<uint64_t>(words[2 * i + 1]) << 32);
}

// ---------------------------------------------------------------- ziggurat

constexpr double kZigR = 3.6541528853610088;      // start of the tail
constexpr double kZigInvR = 0.27366123732975828;  // 1 / kZigR

// kZigK[i]: fast-accept threshold on the 52-bit mantissa for layer i
// (x_{i-1}/x_i * 2^52; layer 0 is the base strip with the tail);
// kZigW[i] = x_i / 2^52 (layer 0: V / f(r) / 2^52); kZigF[i] = exp(-x_i^2 / 2).
// Generated by native/tests/gen_rng_expected.py tables (numpy 2.4.6): layer
// edges measured from NumPy's own standard_normal output (see derive_tables);
// largest relative gap between measured and recomputed edges: 9.8e-15.
alignas(64) constexpr uint64_t kZigK[256] = {
    0xef33d8025ef6aULL, 0x0000000000000ULL, 0xc08be98fbc6a8ULL, 0xda354fabd8142ULL, 0xe51f67ec1eeeaULL,
    0xeb255e9d3f77eULL, 0xeef4b817ecab9ULL, 0xf19470afa44aaULL, 0xf37ed61ffcb18ULL, 0xf4f469561255cULL,
    0xf61a5e41ba396ULL, 0xf707a755396a4ULL, 0xf7cb2ec28449aULL, 0xf86f10c6357d3ULL, 0xf8fa6578325deULL,
    0xf9724c74dd0daULL, 0xf9da907dbf509ULL, 0xfa360f581fa74ULL, 0xfa86fde5b4bf8ULL, 0xfacf160d354dcULL,
    0xfb0fb6718b90fULL, 0xfb49f8d5374c6ULL, 0xfb7ec2366fe77ULL, 0xfbaece9a1e50eULL, 0xfbdab9d040bedULL,
    0xfc03060ff6c57ULL, 0xfc2821037a248ULL, 0xfc4a67ae25bd1ULL, 0xfc6a2977aee31ULL, 0xfc87aa92896a4ULL,
    0xfca325e4bde85ULL, 0xfcbcce902231aULL, 0xfcd4d12f839c4ULL, 0xfceb54d8fec99ULL, 0xfd007bf1dc930ULL,
    0xfd1464dd6c4e6ULL, 0xfd272a8e2f450ULL, 0xfd38e4ff0c91eULL, 0xfd49a9990b478ULL, 0xfd598b8920f53ULL,
    0xfd689c08e99ecULL, 0xfd76ea9c8e832ULL, 0xfd848547b08e8ULL, 0xfd9178bad2c8cULL, 0xfd9dd07a7add2ULL,
    0xfda9970105e8cULL, 0xfdb4d5dc02e20ULL, 0xfdbf95c5bfcd0ULL, 0xfdc9debb99a7dULL, 0xfdd3b8118729dULL,
    0xfddd288342f90ULL, 0xfde6364369f64ULL, 0xfdeee708d514eULL, 0xfdf7401a6b42eULL, 0xfdff46599ed40ULL,
    0xfe06fe4bc24f2ULL, 0xfe0e6c225a258ULL, 0xfe1593c28b84cULL, 0xfe1c78cbc3f99ULL, 0xfe231e9db1caaULL,
    0xfe29885da1b91ULL, 0xfe2fb8fb54186ULL, 0xfe35b33558d4aULL, 0xfe3b799d0002aULL, 0xfe410e99ead7fULL,
    0xfe46746d47734ULL, 0xfe4bad34c095cULL, 0xfe50baed29524ULL, 0xfe559f74ebc78ULL, 0xfe5a5c8e41212ULL,
    0xfe5ef3e138689ULL, 0xfe6366fd91078ULL, 0xfe67b75c6d578ULL, 0xfe6be661e11aaULL, 0xfe6ff55e5f4f2ULL,
    0xfe73e5900a702ULL, 0xfe77b823e9e39ULL, 0xfe7b6e37070a2ULL, 0xfe7f08d774243ULL, 0xfe8289053f08cULL,
    0xfe85efb35173aULL, 0xfe893dc840864ULL, 0xfe8c741f0cebcULL, 0xfe8f9387d4ef6ULL, 0xfe929cc879b1dULL,
    0xfe95909d388eaULL, 0xfe986fb939aa2ULL, 0xfe9b3ac714866ULL, 0xfe9df2694b6d5ULL, 0xfea0973abe67cULL,
    0xfea329cf166a4ULL, 0xfea5aab32952cULL, 0xfea81a6d5741aULL, 0xfeaa797de1cf0ULL, 0xfeacc85f3d920ULL,
    0xfeaf07865e63cULL, 0xfeb13762fec13ULL, 0xfeb3585fe2a4aULL, 0xfeb56ae3162b4ULL, 0xfeb76f4e284faULL,
    0xfeb965fe62014ULL, 0xfebb4f4cf9d7cULL, 0xfebd2b8f449d0ULL, 0xfebefb16e2e3eULL, 0xfec0be31ebde8ULL,
    0xfec2752b15a15ULL, 0xfec42049dafd3ULL, 0xfec5bfd29f196ULL, 0xfec75406ceef4ULL, 0xfec8dd2500cb4ULL,
    0xfeca5b6911f12ULL, 0xfecbcf0c427feULL, 0xfecd38454fb15ULL, 0xfece97488c8b3ULL, 0xfecfec47f91b7ULL,
    0xfed1377358528ULL, 0xfed278f844903ULL, 0xfed3b10242f4cULL, 0xfed4dfbad586eULL, 0xfed605498c3ddULL,
    0xfed721d414fe8ULL, 0xfed8357e4a982ULL, 0xfed9406a42cc8ULL, 0xfeda42b85b704ULL, 0xfedb3c8746ab4ULL,
    0xfedc2df416652ULL, 0xfedd171a46e52ULL, 0xfeddf813c8ad3ULL, 0xfeded0f909980ULL, 0xfedfa1e0fd414ULL,
    0xfee06ae124bc4ULL, 0xfee12c0d95a06ULL, 0xfee1e579006e0ULL, 0xfee29734b6524ULL, 0xfee34150ae4bcULL,
    0xfee3e3db89b3cULL, 0xfee47ee2982f4ULL, 0xfee51271db086ULL, 0xfee59e9407f41ULL, 0xfee623528b42eULL,
    0xfee6a0b5897f1ULL, 0xfee716c3e077aULL, 0xfee7858327b82ULL, 0xfee7ecf7b06baULL, 0xfee84d2484ab2ULL,
    0xfee8a60b66343ULL, 0xfee8f7accc851ULL, 0xfee94207e25daULL, 0xfee9851a829eaULL, 0xfee9c0e13485cULL,
    0xfee9f557273f4ULL, 0xfeea22762ccaeULL, 0xfeea4836b42acULL, 0xfeea668fc2d71ULL, 0xfeea7d76ed6faULL,
    0xfeea8ce04fa0aULL, 0xfeea94be8333bULL, 0xfeea950296410ULL, 0xfeea8d9c0075eULL, 0xfeea7e7897654ULL,
    0xfeea678481d24ULL, 0xfeea48aa29e83ULL, 0xfeea21d22e4daULL, 0xfee9f2e352024ULL, 0xfee9bbc26af2eULL,
    0xfee97c524f2e4ULL, 0xfee93473c0a3aULL, 0xfee8e40557516ULL, 0xfee88ae369c7aULL, 0xfee828e7f3dfdULL,
    0xfee7bdea7b888ULL, 0xfee749bff37ffULL, 0xfee6cc3a9bd5eULL, 0xfee64529e007eULL, 0xfee5b45a32888ULL,
    0xfee51994e57b6ULL, 0xfee474a0006cfULL, 0xfee3c53e12c50ULL, 0xfee30b2e02ad8ULL, 0xfee2462ad8205ULL,
    0xfee175eb83c5aULL, 0xfee09a22a1447ULL, 0xfedfb27e349ccULL, 0xfedebea76216cULL, 0xfeddbe422047eULL,
    0xfedcb0ece39d3ULL, 0xfedb964042cf4ULL, 0xfeda6dce938c9ULL, 0xfed937237e98dULL, 0xfed7f1c38a836ULL,
    0xfed69d2b9c02bULL, 0xfed538d06ae00ULL, 0xfed3c41dea422ULL, 0xfed23e76a2fd8ULL, 0xfed0a732fe644ULL,
    0xfecefda07fe34ULL, 0xfecd4100eb7b8ULL, 0xfecb708956eb4ULL, 0xfec98b61230c1ULL, 0xfec790a0da978ULL,
    0xfec57f50f31feULL, 0xfec356686c962ULL, 0xfec114cb4b335ULL, 0xfebeb948e6fd0ULL, 0xfebc429a0b692ULL,
    0xfeb9af5ee0cdcULL, 0xfeb6fe1c98542ULL, 0xfeb42d3ad1f9eULL, 0xfeb13b00b2d4bULL, 0xfeae2591a02e9ULL,
    0xfeaaeae992257ULL, 0xfea788d8ee326ULL, 0xfea3fcffd73e5ULL, 0xfea044c8dd9f6ULL, 0xfe9c5d62f563bULL,
    0xfe9843ba947a4ULL, 0xfe93f471d4728ULL, 0xfe8f6bd76c5d6ULL, 0xfe8aa5dc4e8e6ULL, 0xfe859e07ab1eaULL,
    0xfe804f690a940ULL, 0xfe7ab488233c0ULL, 0xfe74c751f6aa5ULL, 0xfe6e8102aa202ULL, 0xfe67da0b6abd8ULL,
    0xfe60c9f38307eULL, 0xfe5947338f742ULL, 0xfe51470977280ULL, 0xfe48bd436f458ULL, 0xfe3f9bffd1e37ULL,
    0xfe35d35eeb19cULL, 0xfe2b5122fe4feULL, 0xfe20003995557ULL, 0xfe13c82788314ULL, 0xfe068c4ee67b0ULL,
    0xfdf82b02b71aaULL, 0xfde87c57efeaaULL, 0xfdd7509c63bfdULL, 0xfdc46e529bf13ULL, 0xfdaf8f82e0282ULL,
    0xfd985e1b2ba75ULL, 0xfd7e6ef48cf04ULL, 0xfd613adbd650bULL, 0xfd40149e2f012ULL, 0xfd1a1a7b4c7acULL,
    0xfcee204761f9eULL, 0xfcba8d85e11b2ULL, 0xfc7d26ecd2d22ULL, 0xfc32b2f1e22edULL, 0xfbd6581c0b83aULL,
    0xfb606c4005434ULL, 0xfac40582a2874ULL, 0xf9e971e014598ULL, 0xf89fa48a41dfcULL, 0xf66c5f7f0302cULL,
    0xf1a5a4b331c4aULL,
};
alignas(64) constexpr double kZigW[256] = {
    0x1.f493b7815d979p-51, 0x1.b8d0be3fdf6c6p-55, 0x1.250af3c2c5bb4p-54, 0x1.57cb938443b61p-54, 0x1.801fce82fa70cp-54,
    0x1.a230c2e4cd0bcp-54, 0x1.c004d2f3861f7p-54, 0x1.dac2f5a747274p-54, 0x1.f32482d4cd5c3p-54, 0x1.04d32278ebbadp-53,
    0x1.0f5053b025d43p-53, 0x1.192a697413677p-53, 0x1.227a28f7a1af5p-53, 0x1.2b52e3863d880p-53, 0x1.33c3fc05791f5p-53,
    0x1.3bd9ec1a2b12fp-53, 0x1.439ef8dff9b55p-53, 0x1.4b1bb363dfea7p-53, 0x1.52575621ad374p-53, 0x1.59580a707ce96p-53,
    0x1.60231cfd97eeap-53, 0x1.66bd261a37c3dp-53, 0x1.6d2a292000570p-53, 0x1.736dad346f8a6p-53, 0x1.798ad10b32a77p-53,
    0x1.7f845ad46f543p-53, 0x1.855cc53430a77p-53, 0x1.8b1649e7b769ap-53, 0x1.90b2ea94ecf98p-53, 0x1.96347822c1eeap-53,
    0x1.9b9c98e38c546p-53, 0x1.a0eccdca4a72cp-53, 0x1.a62676d77cd59p-53, 0x1.ab4ad6e101630p-53, 0x1.b05b16d136c9cp-53,
    0x1.b558487427a29p-53, 0x1.ba4368e529f3ap-53, 0x1.bf1d62abf8232p-53, 0x1.c3e70f9594ef3p-53, 0x1.c8a13a5323b61p-53,
    0x1.cd4c9fe72268bp-53, 0x1.d1e9f0e80b748p-53, 0x1.d679d29e41f10p-53, 0x1.dafce0023b8c3p-53, 0x1.df73aa9f17653p-53,
    0x1.e3debb5d2edfep-53, 0x1.e83e9337a6f00p-53, 0x1.ec93abdf982cep-53, 0x1.f0de784f06226p-53, 0x1.f51f654d8f688p-53,
    0x1.f956d9e87d7aep-53, 0x1.fd8537dfa2eacp-53, 0x1.00d56e04234ecp-52, 0x1.02e40f5398f9ap-52, 0x1.04eea9e16a5fcp-52,
    0x1.06f565b72a010p-52, 0x1.08f869071f40bp-52, 0x1.0af7d84bc6113p-52, 0x1.0cf3d664bcc7fp-52, 0x1.0eec84b16086bp-52,
    0x1.10e20329515eep-52, 0x1.12d4707310fbep-52, 0x1.14c3e9f8e9141p-52, 0x1.16b08bfc4201ep-52, 0x1.189a71a78da34p-52,
    0x1.1a81b51ee6d88p-52, 0x1.1c666f8f82acbp-52, 0x1.1e48b93e0d42ep-52, 0x1.2028a9940a09fp-52, 0x1.2206572c4c6e9p-52,
    0x1.23e1d7de9c31fp-52, 0x1.25bb40ca96bfbp-52, 0x1.2792a661dd37fp-52, 0x1.29681c719d71bp-52, 0x1.2b3bb62b82edap-52,
    0x1.2d0d862e1b853p-52, 0x1.2edd9e8cba98ep-52, 0x1.30ac10d6e48d7p-52, 0x1.3278ee1f4b930p-52, 0x1.3444470265ea1p-52,
    0x1.360e2baca52d5p-52, 0x1.37d6abe05586ap-52, 0x1.399dd6fb2b264p-52, 0x1.3b63bbfb83d03p-52, 0x1.3d28698561de0p-52,
    0x1.3eebede725a83p-52, 0x1.40ae571e09e74p-52, 0x1.426fb2da6745dp-52, 0x1.44300e83c30a4p-52, 0x1.45ef773cac75dp-52,
    0x1.47adf9e66c336p-52, 0x1.496ba32488f2fp-52, 0x1.4b287f602415dp-52, 0x1.4ce49acb311dcp-52, 0x1.4ea001638a605p-52,
    0x1.505abef5e5562p-52, 0x1.5214df20a8b5ap-52, 0x1.53ce6d56a664fp-52, 0x1.558774e1bb2c8p-52, 0x1.574000e555f78p-52,
    0x1.58f81c60e8514p-52, 0x1.5aafd23241b59p-52, 0x1.5c672d17d733dp-52, 0x1.5e1e37b2f8cd3p-52, 0x1.5fd4fc89f5e38p-52,
    0x1.618b860a31fc3p-52, 0x1.6341de8a2b0a2p-52, 0x1.64f8104b7260bp-52, 0x1.66ae257c99672p-52, 0x1.6864283b13137p-52,
    0x1.6a1a22950b2b1p-52, 0x1.6bd01e8b343bbp-52, 0x1.6d8626128d352p-52, 0x1.6f3c43161f854p-52, 0x1.70f27f78b68ebp-52,
    0x1.72a8e516914c6p-52, 0x1.745f7dc70eedcp-52, 0x1.7616535e5731fp-52, 0x1.77cd6faeff449p-52, 0x1.7984dc8babd93p-52,
    0x1.7b3ca3c8b1409p-52, 0x1.7cf4cf3db22fbp-52, 0x1.7ead68c73dee7p-52, 0x1.80667a486ea1fp-52, 0x1.82200dac88676p-52,
    0x1.83da2ce899f15p-52, 0x1.8594e1fd1f5bdp-52, 0x1.875036f7a7ec5p-52, 0x1.890c35f47f72dp-52, 0x1.8ac8e9205c043p-52,
    0x1.8c865aba10c9cp-52, 0x1.8e44951446a27p-52, 0x1.9003a2973b58fp-52, 0x1.91c38dc288347p-52, 0x1.9384612ef0afcp-52,
    0x1.954627903a28ap-52, 0x1.9708ebb70d5eep-52, 0x1.98ccb892e2a31p-52, 0x1.9a919933f99bfp-52, 0x1.9c5798cd5d92cp-52,
    0x1.9e1ec2b6f7411p-52, 0x1.9fe7226fad24ap-52, 0x1.a1b0c39f93692p-52, 0x1.a37bb21a2c85bp-52, 0x1.a547f9e0bbb88p-52,
    0x1.a715a724aa9a4p-52, 0x1.a8e4c64a0313dp-52, 0x1.aab563e9ff108p-52, 0x1.ac878cd5af5cep-52, 0x1.ae5b4e18bb336p-52,
    0x1.b030b4fc3a11ap-52, 0x1.b207cf09a985bp-52, 0x1.b3e0aa0e00c00p-52, 0x1.b5bb541ce3d03p-52, 0x1.b797db93f8927p-52,
    0x1.b9764f1e5f73cp-52, 0x1.bb56bdb85256ep-52, 0x1.bd3936b2ec0a2p-52, 0x1.bf1dc9b81ae83p-52, 0x1.c10486cec16a0p-52,
    0x1.c2ed7e5f07a2dp-52, 0x1.c4d8c136e0d1cp-52, 0x1.c6c6608ec8705p-52, 0x1.c8b66e0eba617p-52, 0x1.caa8fbd36a2abp-52,
    0x1.cc9e1c73bd690p-52, 0x1.ce95e3068e037p-52, 0x1.d0906328b8f6ep-52, 0x1.d28db1037ef20p-52, 0x1.d48de1533c647p-52,
    0x1.d691096e7f123p-52, 0x1.d8973f4d7fba5p-52, 0x1.daa0999206e70p-52, 0x1.dcad2f8fc490ep-52, 0x1.debd195522e37p-52,
    0x1.e0d06fb49d21cp-52, 0x1.e2e74c4ea46f6p-52, 0x1.e501c99c1d188p-52, 0x1.e72002f97fe25p-52, 0x1.e94214b2abf0ap-52,
    0x1.eb681c0f76f08p-52, 0x1.ed9237610a73ap-52, 0x1.efc086101eca9p-52, 0x1.f1f328ac25321p-52, 0x1.f42a40fb74d6dp-52,
    0x1.f665f20c90168p-52, 0x1.f8a6604899782p-52, 0x1.faebb187122bfp-52, 0x1.fd360d22fe785p-52, 0x1.ff859c118f60bp-52,
    0x1.00ed447d3a075p-51, 0x1.021a8028fc947p-51, 0x1.034a983a902abp-51, 0x1.047da4e3ef5c7p-51, 0x1.05b3bf6adb37ep-51,
    0x1.06ed023a72668p-51, 0x1.082988f632e17p-51, 0x1.0969708e8a254p-51, 0x1.0aacd7571c0c4p-51, 0x1.0bf3dd1eed448p-51,
    0x1.0d3ea34aa3d30p-51, 0x1.0e8d4cf116593p-51, 0x1.0fdffefa69fb6p-51, 0x1.1136e04207041p-51, 0x1.129219bbb5d35p-51,
    0x1.13f1d69c4096dp-51, 0x1.1556448602e3bp-51, 0x1.16bf93b9deef3p-51, 0x1.182df74d21261p-51, 0x1.19a1a564eebacp-51,
    0x1.1b1ad777f2f8ep-51, 0x1.1c99ca971a694p-51, 0x1.1e1ebfbe4ae39p-51, 0x1.1fa9fc2e2d901p-51, 0x1.213bc9d04cc81p-51,
    0x1.22d477a6fd3eep-51, 0x1.24745a4ac9c24p-51, 0x1.261bcc77658e0p-51, 0x1.27cb2faa8592ep-51, 0x1.2982ecd770e78p-51,
    0x1.2b437532a0a52p-51, 0x1.2d0d43196db97p-51, 0x1.2ee0db1a978f5p-51, 0x1.30becd256aeeep-51, 0x1.32a7b5e68a4a3p-51,
    0x1.349c405ae12a3p-51, 0x1.369d27a33a840p-51, 0x1.38ab39256410ap-51, 0x1.3ac7570ae88fap-51, 0x1.3cf27b31704a6p-51,
    0x1.3f2dbaa60f475p-51, 0x1.417a49cb9e5dap-51, 0x1.43d9815545e94p-51, 0x1.464ce44a73a15p-51, 0x1.48d62759c43bcp-51,
    0x1.4b7739d6b5a27p-51, 0x1.4e3250dcd8902p-51, 0x1.5109f53e9ac41p-51, 0x1.54011523a7e42p-51, 0x1.571b1a94ae41bp-51,
    0x1.5a5c08b718dd9p-51, 0x1.5dc8a243ad0fep-51, 0x1.61669cf861e4cp-51, 0x1.653ce7b006aeap-51, 0x1.69540be9fe5c3p-51,
    0x1.6db6b8d09e232p-51, 0x1.72728f05f7a34p-51, 0x1.7799556090673p-51, 0x1.7d42df4d6ce8cp-51, 0x1.839030529f234p-51,
    0x1.8ab0fbfaa7c14p-51, 0x1.92ee0946f4496p-51, 0x1.9cbee014057abp-51, 0x1.a8fdc7894775ap-51, 0x1.b981f3878fdb1p-51,
    0x1.d3bb48209ad33p-51,
};
alignas(64) constexpr double kZigF[256] = {
    0x1.0000000000000p+0,  0x1.f446ac979f087p-1, 0x1.eb7545b6ca915p-1, 0x1.e3f11e027f077p-1, 0x1.dd36fa704de95p-1,
    0x1.d70920657bcf2p-1,  0x1.d144978a119dcp-1, 0x1.cbd33a8a72debp-1, 0x1.c6a5ecea9787fp-1, 0x1.c1b1cd9eebaeap-1,
    0x1.bceeb4ee1dc82p-1,  0x1.b85653a8ff552p-1, 0x1.b3e3a8234dd10p-1, 0x1.af92a3f6ce8a2p-1, 0x1.ab5fef17a2504p-1,
    0x1.a748bd550c9e1p-1,  0x1.a34aafdf5af0fp-1, 0x1.9f63bee651fd8p-1, 0x1.9b9228d240681p-1, 0x1.97d4657617ac1p-1,
    0x1.94291c21b7a47p-1,  0x1.908f1bd31714fp-1, 0x1.8d0554fe60aa8p-1, 0x1.898ad48badf02p-1, 0x1.861ebfc37bcacp-1,
    0x1.82c050f56cf6ep-1,  0x1.7f6ed4b20e2cbp-1, 0x1.7c29a779c6858p-1, 0x1.78f033ca0b0d5p-1, 0x1.75c1f0770d856p-1,
    0x1.729e5f43f6d12p-1,  0x1.6f850baea7aeep-1, 0x1.6c7589e635a89p-1, 0x1.696f75e513b2ap-1, 0x1.667272a92e323p-1,
    0x1.637e298550c18p-1,  0x1.6092498802665p-1, 0x1.5dae86f4aff6ap-1, 0x1.5ad29acc85c88p-1, 0x1.57fe4264c8d8fp-1,
    0x1.55313f08d9e46p-1,  0x1.526b55a656cd5p-1, 0x1.4fac4e820b667p-1, 0x1.4cf3f4f494ec0p-1, 0x1.4a42172dc5278p-1,
    0x1.479685fdf5012p-1,  0x1.44f114a493679p-1, 0x1.425198a355fe3p-1, 0x1.3fb7e99585b82p-1, 0x1.3d23e10af31a3p-1,
    0x1.3a955a662cd0ep-1,  0x1.380c32bda00d5p-1, 0x1.358848bf550e9p-1, 0x1.33097c9703a35p-1, 0x1.308fafd6438efp-1,
    0x1.2e1ac55ea3beep-1,  0x1.2baaa14d7954ap-1, 0x1.293f28e93cd15p-1, 0x1.26d84290504edp-1, 0x1.2475d5a90db84p-1,
    0x1.2217ca92ff7f2p-1,  0x1.1fbe0a9929620p-1, 0x1.1d687fe549969p-1, 0x1.1b171573fd111p-1, 0x1.18c9b709b3c50p-1,
    0x1.16805128639dap-1,  0x1.143ad105ea99cp-1, 0x1.11f9248311f38p-1, 0x1.0fbb3a2325913p-1, 0x1.0d810104142a0p-1,
    0x1.0b4a68d70d9aep-1,  0x1.091761d995d81p-1, 0x1.06e7dccf03c36p-1, 0x1.04bbcafa63f2ep-1, 0x1.02931e18b822ap-1,
    0x1.006dc85b8cac4p-1,  0x1.fc9778c7bbda1p-2, 0x1.f859da7a900cap-2, 0x1.f4229cb2f7af3p-2, 0x1.eff1a717e8f95p-2,
    0x1.ebc6e20bd1f54p-2,  0x1.e7a236a4ec3c5p-2, 0x1.e3838ea5f9b85p-2, 0x1.df6ad47763a09p-2, 0x1.db57f320b56b1p-2,
    0x1.d74ad6426de33p-2,  0x1.d3436a1021080p-2, 0x1.cf419b4ae5b6dp-2, 0x1.cb45573c0a848p-2, 0x1.c74e8bb00d7c7p-2,
    0x1.c35d26f1d2cb8p-2,  0x1.bf7117c616a17p-2, 0x1.bb8a4d6716d91p-2, 0x1.b7a8b7807131bp-2, 0x1.b3cc462b331cap-2,
    0x1.aff4e9ea18552p-2,  0x1.ac2293a5f5a9ep-2, 0x1.a85534aa4d880p-2, 0x1.a48cbea20c04dp-2, 0x1.a0c923946843ep-2,
    0x1.9d0a55e1e93dfp-2,  0x1.995048418c0c6p-2, 0x1.959aedbe09f93p-2, 0x1.91ea39b33cb17p-2, 0x1.8e3e1fcb9f115p-2,
    0x1.8a9693fde9188p-2,  0x1.86f38a8ac5ab6p-2, 0x1.8354f7faa0dd9p-2, 0x1.7fbad11b8d911p-2, 0x1.7c250aff414b0p-2,
    0x1.78939af9252ebp-2,  0x1.7506769c7b1edp-2, 0x1.717d93ba9614cp-2, 0x1.6df8e86124caap-2, 0x1.6a786ad88de21p-2,
    0x1.66fc11a25cbe2p-2,  0x1.6383d377be515p-2, 0x1.600fa7480d2c8p-2, 0x1.5c9f84376c244p-2, 0x1.5933619d6eebep-2,
    0x1.55cb3703d0100p-2,  0x1.5266fc2533bedp-2, 0x1.4f06a8ebf6d92p-2, 0x1.4baa357109ca2p-2, 0x1.485199fad6ad4p-2,
    0x1.44fccefc324fep-2,  0x1.41abcd1357a19p-2, 0x1.3e5e8d08ed2dbp-2, 0x1.3b1507cf143aep-2, 0x1.37cf368081379p-2,
    0x1.348d125f9d19ep-2,  0x1.314e94d5af62fp-2, 0x1.2e13b77210766p-2, 0x1.2adc73e963fddp-2, 0x1.27a8c414db11ep-2,
    0x1.2478a1f17de89p-2,  0x1.214c079f7cc9ep-2, 0x1.1e22ef6188116p-2, 0x1.1afd539c2f050p-2, 0x1.17db2ed5454e8p-2,
    0x1.14bc7bb34ee67p-2,  0x1.11a134fcf2423p-2, 0x1.0e895598709c4p-2, 0x1.0b74d88b242dap-2, 0x1.0863b8f904336p-2,
    0x1.0555f2242e9d9p-2,  0x1.024b7f6c7747ep-2, 0x1.fe88b89df93c5p-3, 0x1.f88108cb83235p-3, 0x1.f27fe6ce998d2p-3,
    0x1.ec854a4c99c44p-3,  0x1.e6912b2283cddp-3, 0x1.e0a3816457184p-3, 0x1.dabc455c7900ap-3, 0x1.d4db6f8b2514fp-3,
    0x1.cf00f8a5e6fccp-3,  0x1.c92cd9971df53p-3, 0x1.c35f0b7d89d47p-3, 0x1.bd9787abe18a1p-3, 0x1.b7d647a8731aap-3,
    0x1.b21b452ccd13ap-3,  0x1.ac667a2571807p-3, 0x1.a6b7e0b19267ep-3, 0x1.a10f7322d7e3dp-3, 0x1.9b6d2bfd2fe5ap-3,
    0x1.95d105f6a7c27p-3,  0x1.903afbf74fa69p-3, 0x1.8aab09192815bp-3, 0x1.852128a819a38p-3, 0x1.7f9d5621f7175p-3,
    0x1.7a1f8d368a323p-3,  0x1.74a7c9c7ab5a6p-3, 0x1.6f3607e964716p-3, 0x1.69ca43e21f25cp-3, 0x1.64647a2adf19cp-3,
    0x1.5f04a76f883f9p-3,  0x1.59aac88f31d6cp-3, 0x1.5456da9c86835p-3, 0x1.4f08dade31fc1p-3, 0x1.49c0c6cf5ce2dp-3,
    0x1.447e9c20375d5p-3,  0x1.3f4258b6931aep-3, 0x1.3a0bfaae8d7eep-3, 0x1.34db805b4ab88p-3, 0x1.2fb0e847c2a65p-3,
    0x1.2a8c3137a071ap-3,  0x1.256d5a2835eb7p-3, 0x1.2054625183c34p-3, 0x1.1b41492757d42p-3, 0x1.16340e5a82d63p-3,
    0x1.112cb1da26eb9p-3,  0x1.0c2b33d5209bap-3, 0x1.072f94bb8bf85p-3, 0x1.0239d54067d2ap-3, 0x1.fa93ecb6b222cp-4,
    0x1.f0bff29520e1cp-4,  0x1.e6f7bf29aa54bp-4, 0x1.dd3b56176e88fp-4, 0x1.d38abb9bd91e5p-4, 0x1.c9e5f493b740ap-4,
    0x1.c04d0680b1015p-4,  0x1.b6bff78f2e233p-4, 0x1.ad3ece9caf633p-4, 0x1.a3c9933ea6286p-4, 0x1.9a604dc9d5b19p-4,
    0x1.9103075a4a0abp-4,  0x1.87b1c9dbf2852p-4, 0x1.7e6ca013eefd6p-4, 0x1.753395aaa1176p-4, 0x1.6c06b73694a4cp-4,
    0x1.62e6124854d18p-4,  0x1.59d1b577466a4p-4, 0x1.50c9b06fa2baep-4, 0x1.47ce1401b2213p-4, 0x1.3edef23269a86p-4,
    0x1.35fc5e4d93e70p-4,  0x1.2d266cf9b3111p-4, 0x1.245d344dd0d91p-4, 0x1.1ba0cbe97897dp-4, 0x1.12f14d0f2179dp-4,
    0x1.0a4ed2c159625p-4,  0x1.01b979e30e497p-4, 0x1.f262c2b6c6e35p-5, 0x1.e16d547b25181p-5, 0x1.d092efeadf162p-5,
    0x1.bfd3e0f282a2cp-5,  0x1.af30790385f70p-5, 0x1.9ea90f9295563p-5, 0x1.8e3e02a68b5abp-5, 0x1.7defb77af271ep-5,
    0x1.6dbe9b398d064p-5,  0x1.5dab23cf2add4p-5, 0x1.4db5d0e11275dp-5, 0x1.3ddf2ce98eecbp-5, 0x1.2e27ce83df497p-5,
    0x1.1e9059f1f6abcp-5,  0x1.0f1982e968011p-5, 0x1.ff881d718a5c4p-6, 0x1.e121adb828c75p-6, 0x1.c301983cd091ap-6,
    0x1.a529f4e22ebf8p-6,  0x1.879d1b600c10ap-6, 0x1.6a5daf40bbf82p-6, 0x1.4d6eaf2fbb064p-6, 0x1.30d388dab5e13p-6,
    0x1.1490334603012p-6,  0x1.f152a4f72dd49p-7, 0x1.ba48d274f8facp-7, 0x1.841040d8da478p-7, 0x1.4eb96421acfe0p-7,
    0x1.1a59229952f92p-7,  0x1.ce160f8ec6837p-8, 0x1.69ea8d90cb85dp-8, 0x1.08a1f03b0b1fdp-8, 0x1.55f9f43c1b067p-9,
    0x1.4a605b6b9f70fp-10,
};

// Everything after a failed fast test: wedge test (layers 1..255) or tail
// sampling (layer 0). Returns true and sets `x` when the draw is accepted.
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
bool normalSlowPath(Pcg& g, unsigned idx, uint64_t rabs, double& x) {
  if (idx == 0) {
    for (;;) {
      // Exponential draws as -log1p(-U) (U in [0, 1), so never log(0)), as
      // current NumPy does; older releases used log(1 - U), an ulp apart.
      const double xx = -kZigInvR * std::log1p(-g.nextDouble());
      const double yy = -std::log1p(-g.nextDouble());
      if (yy + yy > xx * xx) {
        x = ((rabs >> 8) & 0x1) ? -(kZigR + xx) : kZigR + xx;
        return true;
      }
    }
  }
  const double lhs = (kZigF[idx - 1] - kZigF[idx]) * g.nextDouble() + kZigF[idx];
  return lhs < std::exp(-0.5 * x * x);
}

inline double normalDraw(Pcg& g) {
  for (;;) {
    uint64_t r = g.next();
    const unsigned idx = static_cast<unsigned>(r & 0xff);
    r >>= 8;
    const uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
    // rabs < 2^52 converts exactly; the signed conversion is the cheap one.
    double x = static_cast<double>(static_cast<int64_t>(rabs)) * kZigW[idx];
    // x = -x when the sign bit is set, without an unpredictable branch.
    uint64_t xb;
    std::memcpy(&xb, &x, sizeof xb);
    xb ^= (r & 0x1) << 63;
    std::memcpy(&x, &xb, sizeof xb);
    if (rabs < kZigK[idx]) return x;  // ~99.3% of draws
    // The slow path works on a copy so that `g` never has its address taken
    // here and can stay in registers across the fast path.
    Pcg copy = g;
    const bool accepted = normalSlowPath(copy, idx, rabs, x);
    g = copy;
    if (accepted) return x;
  }
}

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

// ----------------------------------------------------------------- Generator

Generator::Generator(uint64_t seed) {
  uint64_t w[4];
  seedSequenceState(seed, w);
  // pcg_setseq_128_srandom(initstate = w0:w1, initseq = w2:w3)
  const uint64_t incHi = (w[2] << 1) | (w[3] >> 63);
  const uint64_t incLo = (w[3] << 1) | 1u;
  Pcg g(0, 0, incHi, incLo);
  g.next();
#if defined(SCORECRL_RNG_HAVE_INT128)
  g.state += (static_cast<unsigned __int128>(w[0]) << 64) | w[1];
#else
  g.lo += w[1];
  g.hi += w[0] + (g.lo < w[1] ? 1u : 0u);
#endif
  g.next();
  g.store(stateHi_, stateLo_);
  incHi_ = incHi;
  incLo_ = incLo;
}

uint64_t Generator::nextUint64() {
  Pcg g(stateHi_, stateLo_, incHi_, incLo_);
  const uint64_t v = g.next();
  g.store(stateHi_, stateLo_);
  return v;
}

uint32_t Generator::nextUint32() {
  if (hasUint32_) {
    hasUint32_ = false;
    return uinteger_;
  }
  const uint64_t v = nextUint64();
  hasUint32_ = true;
  uinteger_ = static_cast<uint32_t>(v >> 32);
  return static_cast<uint32_t>(v & 0xFFFFFFFFULL);
}

double Generator::random() { return static_cast<double>(nextUint64() >> 11) * (1.0 / 9007199254740992.0); }

double Generator::uniform(double low, double high) {
  const double range = high - low;
  if (!std::isfinite(range))
    throw Error("uniform",
                "high - low must be finite (got low=" + std::to_string(low) + ", high=" + std::to_string(high) + ")");
  return low + range * random();
}

double Generator::standardNormal() {
  Pcg g(stateHi_, stateLo_, incHi_, incLo_);
  const double x = normalDraw(g);
  g.store(stateHi_, stateLo_);
  return x;
}

int64_t Generator::integers(int64_t low, int64_t high) {
  if (high <= low)
    throw Error("integers", "high must be greater than low (got low=" + str(low) + ", high=" + str(high) + ")");
  // Inclusive range [0, rng] added to `low`, in wrapping unsigned arithmetic.
  const uint64_t rng = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) - 1u;
  const uint64_t off = static_cast<uint64_t>(low);
  uint64_t v;
  if (rng == 0) {
    v = 0;  // a single value: no draw at all
  } else if (rng == 0xFFFFFFFFULL) {
    v = nextUint32();
  } else if (rng < 0xFFFFFFFFULL) {
    // Lemire on buffered 32-bit draws.
    const uint32_t excl = static_cast<uint32_t>(rng) + 1u;
    uint64_t m = static_cast<uint64_t>(nextUint32()) * excl;
    uint32_t leftover = static_cast<uint32_t>(m);
    if (leftover < excl) {
      const uint32_t threshold = (0xFFFFFFFFu - static_cast<uint32_t>(rng)) % excl;
      while (leftover < threshold) {
        m = static_cast<uint64_t>(nextUint32()) * excl;
        leftover = static_cast<uint32_t>(m);
      }
    }
    v = m >> 32;
  } else if (rng == ~0ULL) {
    v = nextUint64();
  } else {
    // Lemire on 64-bit draws.
    const uint64_t excl = rng + 1u;
    uint64_t x = nextUint64();
    uint64_t leftover = x * excl;
    if (leftover < excl) {
      const uint64_t threshold = (~0ULL - rng) % excl;
      while (leftover < threshold) {
        x = nextUint64();
        leftover = x * excl;
      }
    }
    v = mulhi64(x, excl);
  }
  return static_cast<int64_t>(off + v);
}

uint64_t Generator::randomInterval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  uint64_t value;
  if (max <= 0xFFFFFFFFULL) {
    while ((value = (nextUint32() & mask)) > max) {
    }
  } else {
    while ((value = (nextUint64() & mask)) > max) {
    }
  }
  return value;
}

void Generator::shuffle(std::vector<int64_t>& values) {
  const size_t n = values.size();
  for (size_t i = n; i-- > 1;) {
    const size_t j = static_cast<size_t>(randomInterval(i));
    std::swap(values[i], values[j]);
  }
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  if (n < 0) throw Error("permutation", "n must be non-negative (got " + str(n) + ")");
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = i;
  shuffle(out);
  return out;
}

void Generator::fillRandom(double* out, size_t count) {
  Pcg g(stateHi_, stateLo_, incHi_, incLo_);
  for (size_t i = 0; i < count; ++i) out[i] = g.nextDouble();
  g.store(stateHi_, stateLo_);
}

void Generator::fillUniform(double* out, size_t count, double low, double high) {
  const double range = high - low;
  if (!std::isfinite(range))
    throw Error("fillUniform",
                "high - low must be finite (got low=" + std::to_string(low) + ", high=" + std::to_string(high) + ")");
  Pcg g(stateHi_, stateLo_, incHi_, incLo_);
  for (size_t i = 0; i < count; ++i) out[i] = low + range * g.nextDouble();
  g.store(stateHi_, stateLo_);
}

void Generator::fillStandardNormal(double* out, size_t count) {
  Pcg g(stateHi_, stateLo_, incHi_, incLo_);
  for (size_t i = 0; i < count; ++i) out[i] = normalDraw(g);
  g.store(stateHi_, stateLo_);
}

}  // namespace scorecrl
