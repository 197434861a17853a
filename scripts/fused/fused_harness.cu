// Stand-alone check and timing of the fused kernels, independent of the Swift runtime:
// float32 host reference (same cell structs, inputs rounded to the storage type) versus the
// kernels, forward and backward, every cell and storage type; then the upstream head-dimension
// sweep timed with CUDA events. Built with nvcc on the CPU machine (scripts/fused/build_harness.sh, nvcc from the CUDA wheels) or on the GPU machine; run by scripts/fused/fused_round.sh.
#define FLASHRNN_HD __host__ __device__ inline
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "fused/fused_entry.cuh"
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <random>
#include <algorithm>
#include <string>

using namespace flashrnn;
using namespace flashrnn::fused;

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { printf("CUDA %s at %s:%d: %s\n", #x, __FILE__, __LINE__, cudaGetErrorString(e_)); exit(2); } } while (0)


// Host element type → the kernels' storage struct.
template <typename Store> struct StorageOf;
template <> struct StorageOf<float> { typedef flashrnn::F32 type; };
template <> struct StorageOf<__half> { typedef flashrnn::F16 type; };
template <> struct StorageOf<__nv_bfloat16> { typedef flashrnn::BF16 type; };

static float round_to(float x, int dtype) {  // 0 float32, 1 float16, 2 bfloat16
    if (dtype == 1) return __half2float(__float2half_rn(x));
    if (dtype == 2) return __bfloat162float(__float2bfloat16_rn(x));
    return x;
}
template <typename Store> static int dtype_code();
template <> int dtype_code<float>() { return 0; }
template <> int dtype_code<__half>() { return 1; }
template <> int dtype_code<__nv_bfloat16>() { return 2; }
template <typename Store> static Store host_from(float x);
template <> float host_from<float>(float x) { return x; }
template <> __half host_from<__half>(float x) { return __float2half_rn(x); }
template <> __nv_bfloat16 host_from<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
static float host_to(float x) { return x; }
static float host_to(__half x) { return __half2float(x); }
static float host_to(__nv_bfloat16 x) { return __bfloat162float(x); }

struct Problem {
    int B, T, N, D;
    bool s0, tbgnd, cut;
    float fclip, gclip;   // <0: none
};

struct Reference {
    std::vector<float> states, last, dWx, dR, db, dInit;
};

// float32 reference of the spec's forward and backward, on rounded inputs.
template <class Cell>
static Reference reference(const Problem& P, const std::vector<float>& wx, const std::vector<float>& R,
                           const std::vector<float>& bias, const std::vector<float>& s0,
                           const std::vector<float>& dS, const std::vector<float>& dL) {
    const int B = P.B, T = P.T, N = P.N, D = P.D, GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, S = Cell::kStates;
    const int rOff = Cell::kRecurrentGateOffset, wOff = Cell::kInputGateOffset;
    auto wxi = [&](int b, int t, int j, int n, int d) -> size_t {
        return P.tbgnd ? ((((size_t)t * B + b) * GW + j) * N + n) * D + d : ((((size_t)b * T + t) * GW + j) * N + n) * D + d; };
    auto st = [&](int s, int b, int t, int n, int d) -> size_t { return ((((size_t)s * B + b) * T + t) * N + n) * D + d; };
    auto ini = [&](int s, int b, int n, int d) -> size_t { return (((size_t)s * B + b) * N + n) * D + d; };
    Reference r;
    r.states.assign((size_t)S * B * T * N * D, 0); r.last.assign((size_t)S * B * N * D, 0);
    std::vector<float> pre((size_t)B * T * GT * N * D);
    for (int b = 0; b < B; ++b) for (int n = 0; n < N; ++n) {
        std::vector<float> cur((size_t)S * D);
        for (int s = 0; s < S; ++s) for (int d = 0; d < D; ++d) cur[s * D + d] = P.s0 ? s0[ini(s, b, n, d)] : 0;
        for (int t = 0; t < T; ++t) {
            std::vector<float> next((size_t)S * D);
            for (int d = 0; d < D; ++d) {
                float p[4] = {0, 0, 0, 0}, prev[4] = {0, 0, 0, 0}, nx[4];
                for (int k = 0; k < GT; ++k) p[k] = bias[((size_t)k * N + n) * D + d];
                for (int k = 0; k < GR; ++k) { double acc = 0; for (int q = 0; q < D; ++q) acc += (double)R[(((size_t)k * N + n) * D + d) * D + q] * cur[q]; p[k + rOff] += (float)acc; }
                for (int j = 0; j < GW; ++j) p[j + wOff] += wx[wxi(b, t, j, n, d)];
                for (int s = 0; s < S; ++s) prev[s] = cur[s * D + d];
                Cell::forward(p, prev, nx);
                if (P.fclip >= 0) nx[0] = fminf(fmaxf(nx[0], -P.fclip), P.fclip);
                for (int s = 0; s < S; ++s) next[s * D + d] = nx[s];
                for (int k = 0; k < GT; ++k) pre[(((size_t)b * T + t) * GT + k) * N * D + n * D + d] = p[k];
            }
            cur = next;
            for (int s = 0; s < S; ++s) for (int d = 0; d < D; ++d) { r.states[st(s, b, t, n, d)] = cur[s * D + d]; if (t == T - 1) r.last[ini(s, b, n, d)] = cur[s * D + d]; }
        }
    }
    r.dWx.assign(wx.size(), 0); r.dR.assign(R.size(), 0); r.db.assign(bias.size(), 0); r.dInit.assign((size_t)S * B * N * D, 0);
    for (int b = 0; b < B; ++b) for (int n = 0; n < N; ++n) {
        std::vector<float> dNext((size_t)S * D, 0), dRec(D, 0), dG((size_t)GR * D);
        for (int t = T - 1; t >= 0; --t) {
            for (int d = 0; d < D; ++d) {
                float dNew[4] = {0, 0, 0, 0}, prev[4] = {0, 0, 0, 0}, p[4] = {0, 0, 0, 0}, dp[4], dprev[4];
                for (int s = 0; s < S; ++s) {
                    dNew[s] = dNext[s * D + d] + dS[st(s, b, t, n, d)] + (t == T - 1 ? dL[ini(s, b, n, d)] : 0);
                    prev[s] = t > 0 ? r.states[st(s, b, t - 1, n, d)] : (P.s0 ? s0[ini(s, b, n, d)] : 0);
                }
                float rec = P.cut ? 0 : dRec[d];
                if (P.gclip >= 0) rec = fminf(fmaxf(rec, -P.gclip), P.gclip);
                dNew[0] += rec;
                for (int k = 0; k < GT; ++k) p[k] = pre[(((size_t)b * T + t) * GT + k) * N * D + n * D + d];
                if (P.fclip >= 0) { float h[4]; Cell::forward(p, prev, h); if (fabsf(h[0]) > P.fclip) dNew[0] = 0; }
                Cell::backward(p, prev, dNew, dp, dprev);
                for (int s = 0; s < S; ++s) dNext[s * D + d] = dprev[s];
                for (int j = 0; j < GW; ++j) r.dWx[wxi(b, t, j, n, d)] = dp[j + wOff];
                for (int k = 0; k < GT; ++k) r.db[((size_t)k * N + n) * D + d] += dp[k];
                for (int k = 0; k < GR; ++k) dG[k * D + d] = dp[k + rOff];
            }
            for (int k = 0; k < GR; ++k) for (int d = 0; d < D; ++d) for (int q = 0; q < D; ++q) {
                float h = t > 0 ? r.states[st(0, b, t - 1, n, q)] : (P.s0 ? s0[ini(0, b, n, q)] : 0);
                r.dR[(((size_t)k * N + n) * D + d) * D + q] += dG[k * D + d] * h;
            }
            for (int q = 0; q < D; ++q) { double acc = 0; for (int k = 0; k < GR; ++k) for (int d = 0; d < D; ++d) acc += (double)R[(((size_t)k * N + n) * D + d) * D + q] * dG[k * D + d]; dRec[q] = (float)acc; }
        }
        for (int s = 0; s < S; ++s) for (int d = 0; d < D; ++d) {
            float g = dNext[s * D + d];
            if (s == 0) { float rec = P.cut ? 0 : dRec[d]; if (P.gclip >= 0) rec = fminf(fmaxf(rec, -P.gclip), P.gclip); g += rec; }
            r.dInit[ini(s, b, n, d)] = g;
        }
    }
    return r;
}

template <typename Store> struct DevBuf {
    Store* p = nullptr; size_t n = 0;
    void alloc(size_t count) { n = count; CK(cudaMalloc(&p, std::max<size_t>(count, 1) * sizeof(Store))); }
    void up(const std::vector<float>& v) { std::vector<Store> h(v.size()); for (size_t i = 0; i < v.size(); ++i) h[i] = host_from<Store>(v[i]); CK(cudaMemcpy(p, h.data(), h.size() * sizeof(Store), cudaMemcpyHostToDevice)); }
    std::vector<float> down() const { std::vector<Store> h(n); CK(cudaMemcpy(h.data(), p, n * sizeof(Store), cudaMemcpyDeviceToHost)); std::vector<float> v(n); for (size_t i = 0; i < n; ++i) v[i] = host_to(h[i]); return v; }
    void poison() { CK(cudaMemset(p, 0xFF, n * sizeof(Store))); }   // NaN in every storage type
    void release() { if (p) cudaFree(p); p = nullptr; }
};

static double rel_error(const std::vector<float>& out, const std::vector<float>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) { double d = (double)out[i] - ref[i]; if (!std::isfinite(out[i])) return INFINITY; num += d * d; den += (double)ref[i] * ref[i]; }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

template <class Cell, typename Store, int DP, int AF, int AB>
struct Runner {
    using FS = ForwardShape<Cell, typename StorageOf<Store>::type, DP, AF>;
    using BS = BackwardShape<Cell, typename StorageOf<Store>::type, DP, AB>;
    static constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, S = Cell::kStates;
    Problem P; FusedParams fp{}; WeightGradientParams wp{};
    DevBuf<Store> wx, r, bias, s0, states, last, dS, dL, dWx, dInit, dR, db;
    DevBuf<float> pre, dGR, db32, dR32, states32;
    int wgSplits = 1;

    void setup(const Problem& p_) {
        P = p_;
        const size_t BTND = (size_t)P.B * P.T * P.N * P.D, BND = (size_t)P.B * P.N * P.D, ND = (size_t)P.N * P.D;
        wx.alloc(BTND * GW); r.alloc((size_t)GR * ND * P.D); bias.alloc(GT * ND); s0.alloc(S * BND);
        states.alloc(S * BTND); last.alloc(S * BND); dS.alloc(S * BTND); dL.alloc(S * BND); dWx.alloc(BTND * GW);
        dInit.alloc(S * BND); dR.alloc((size_t)GR * ND * P.D); db.alloc(GT * ND);
        pre.alloc(BTND * GT); states32.alloc(S * BTND); dGR.alloc(BTND * GR); db32.alloc(GT * ND); dR32.alloc((size_t)GR * ND * P.D);
        auto A = [](const void* x) { return (unsigned long long)x; };
        fp.wx = A(wx.p); fp.r = A(r.p); fp.bias = A(bias.p); fp.s0 = P.s0 ? A(s0.p) : 0; fp.states = A(states.p); fp.last = A(last.p); fp.pre = A(pre.p); fp.states32 = A(states32.p);
        fp.dStates = A(dS.p); fp.dLast = A(dL.p); fp.dWx = A(dWx.p); fp.dGR = A(dGR.p); fp.db = A(db32.p); fp.dInitial = A(dInit.p);
        fp.wxStrideB = P.tbgnd ? (long long)GW * ND : (long long)P.T * GW * ND;
        fp.wxStrideT = P.tbgnd ? (long long)P.B * GW * ND : (long long)GW * ND;
        fp.B = P.B; fp.T = P.T; fp.N = P.N; fp.D = P.D;
        fp.hasForwardClip = P.fclip >= 0; fp.forwardClip = P.fclip; fp.hasGradientClip = P.gclip >= 0; fp.gradientClip = P.gclip; fp.gradientCut = P.cut;
        wp.dGR = A(dGR.p); wp.states32 = A(states32.p); wp.s0 = fp.s0; wp.dR32 = A(dR32.p); wp.db32 = A(db32.p); wp.dR = A(dR.p); wp.db = A(db.p);
        wp.B = P.B; wp.T = P.T; wp.N = P.N; wp.D = P.D; wp.GR = GR; wp.GT = GT;
        const int tiles = (P.D + kWeightTile - 1) / kWeightTile;
        const long long rows = (long long)P.B * P.T;
        const long long base = (long long)tiles * tiles * GR * P.N;
        wgSplits = (int)std::max<long long>(1, std::min<long long>((rows + 255) / 256, (4 * 132 + base - 1) / base));
        long long per = (rows + wgSplits - 1) / wgSplits; per = (per + kWeightRows - 1) / kWeightRows * kWeightRows;
        wp.rowsPerBlock = (int)per; wgSplits = (int)((rows + per - 1) / per);
        CK(cudaFuncSetAttribute(forward_kernel<Cell, typename StorageOf<Store>::type, DP, AF>, cudaFuncAttributeMaxDynamicSharedMemorySize, FS::kSharedBytes));
        CK(cudaFuncSetAttribute(backward_kernel<Cell, typename StorageOf<Store>::type, DP, AB>, cudaFuncAttributeMaxDynamicSharedMemorySize, BS::kSharedBytes));
    }
    void forward(bool train) {
        FusedParams q = fp; if (!train) { q.pre = 0; q.states32 = 0; }
        dim3 grid(P.N, (P.B + 7) / 8);
        forward_kernel<Cell, typename StorageOf<Store>::type, DP, AF><<<grid, FS::kThreads, FS::kSharedBytes>>>(q);
        CK(cudaGetLastError());
    }
    void backward() {
        CK(cudaMemsetAsync(db32.p, 0, db32.n * 4)); CK(cudaMemsetAsync(dR32.p, 0, dR32.n * 4));
        dim3 grid(P.N, (P.B + 7) / 8);
        backward_kernel<Cell, typename StorageOf<Store>::type, DP, AB><<<grid, BS::kThreads, BS::kSharedBytes>>>(fp);
        CK(cudaGetLastError());
        const int tiles = (P.D + kWeightTile - 1) / kWeightTile;
        weight_gradient_kernel<typename StorageOf<Store>::type><<<dim3(tiles * tiles, GR * P.N, wgSplits), kWeightThreads>>>(wp);
        CK(cudaGetLastError());
        finish_gradients_kernel<typename StorageOf<Store>::type><<<264, 256>>>(wp);
        CK(cudaGetLastError());
    }
    void release() { for (auto* b : {&wx, &r, &bias, &s0, &states, &last, &dS, &dL, &dWx, &dInit, &dR, &db}) b->release(); for (auto* b : {&pre, &dGR, &db32, &dR32, &states32}) b->release(); }
};

static const char* cell_name(int c) { static const char* n[] = {"lstm", "slstm", "gru", "elman"}; return n[c]; }
static const char* dtype_name(int d) { static const char* n[] = {"float32", "float16", "bfloat16"}; return n[d]; }
static int failures = 0, checks = 0;

template <class Cell, typename Store, int DP, int AF, int AB>
static void check(int cellCode, const Problem& P, unsigned seed) {
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, S = Cell::kStates;
    const int dt = dtype_code<Store>();
    std::mt19937 rng(seed); std::normal_distribution<float> nd(0, 1);
    const size_t BTND = (size_t)P.B * P.T * P.N * P.D, BND = (size_t)P.B * P.N * P.D, ND = (size_t)P.N * P.D;
    auto gen = [&](size_t n, float scale) { std::vector<float> v(n); for (auto& x : v) x = round_to(nd(rng) * scale, dt); return v; };
    auto wx = gen(BTND * GW, 1), R = gen((size_t)GR * ND * P.D, 1.0f / sqrtf((float)P.D)), bias = gen(GT * ND, 1);
    auto s0 = gen(S * BND, 1);
    if (cellCode == 1) for (size_t i = 0; i < BND; ++i) { s0[2 * BND + i] = round_to(1.0f + fabsf(s0[2 * BND + i]), dt); s0[3 * BND + i] = 0; }  // sLSTM: n ≥ 1, m = 0
    auto dS = gen(S * BTND, 1), dL = gen(S * BND, 1);
    if (cellCode == 1) { for (size_t i = BTND; i < S * BTND; ++i) dS[i] = 0; for (size_t i = BND; i < S * BND; ++i) dL[i] = 0; }
    Reference ref = reference<Cell>(P, wx, R, bias, s0, dS, dL);
    Runner<Cell, Store, DP, AF, AB> run; run.setup(P);
    run.wx.up(wx); run.r.up(R); run.bias.up(bias); run.s0.up(s0); run.dS.up(dS); run.dL.up(dL);
    run.states.poison(); run.last.poison(); run.dWx.poison(); run.dInit.poison(); run.dR.poison(); run.db.poison();
    run.forward(true); run.backward(); CK(cudaDeviceSynchronize());
    double tol = dt == 0 ? 3e-3 : dt == 1 ? 1e-2 : 3e-2;
    auto dInit = run.dInit.down();
    if (cellCode == 1) for (size_t i = 3 * BND; i < 4 * BND; ++i) { dInit[i] = 0; ref.dInit[i] = 0; }
    double e[6] = {rel_error(run.states.down(), ref.states), rel_error(run.last.down(), ref.last), rel_error(run.dWx.down(), ref.dWx),
                   rel_error(run.dR.down(), ref.dR), rel_error(run.db.down(), ref.db), rel_error(dInit, ref.dInit)};
    double worst = 0; for (double x : e) worst = std::max(worst, std::isfinite(x) ? x : 1e30);
    bool ok = worst <= tol; ++checks; if (!ok) ++failures;
    printf("%s %-5s %-8s B=%d T=%d N=%d D=%d s0=%d tb=%d cut=%d fclip=%g gclip=%g | states %.2e last %.2e dWx %.2e dR %.2e db %.2e dInit %.2e (tol %.0e)\n",
           ok ? "PASS" : "FAIL", cell_name(cellCode), dtype_name(dt), P.B, P.T, P.N, P.D, P.s0, P.tbgnd, P.cut, P.fclip, P.gclip, e[0], e[1], e[2], e[3], e[4], e[5], tol);
    fflush(stdout);
    run.release();
}

template <class Cell, typename Store, int DP, int AF, int AB>
static void timing(const char* label, const Problem& P) {
    Runner<Cell, Store, DP, AF, AB> run; run.setup(P);
    std::mt19937 rng(1); std::normal_distribution<float> nd(0, 1);
    auto fill = [&](DevBuf<Store>& b, float s) { std::vector<float> v(b.n); for (auto& x : v) x = nd(rng) * s; b.up(v); };
    fill(run.wx, 1); fill(run.r, 1.0f / sqrtf((float)P.D)); fill(run.bias, 1); fill(run.dS, 1); fill(run.dL, 1);
    cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    auto median = [&](auto fn) { std::vector<float> ms; for (int i = 0; i < 3; ++i) fn(); CK(cudaDeviceSynchronize());
        for (int i = 0; i < 15; ++i) { cudaEventRecord(a); fn(); cudaEventRecord(b); cudaEventSynchronize(b); float x; cudaEventElapsedTime(&x, a, b); ms.push_back(x); }
        std::sort(ms.begin(), ms.end()); return ms[ms.size() / 2]; };
    // Clocks idle low on this machine; keep the GPU busy ~0.5 s before timing.
    { cudaEventRecord(a); float x = 0; int spins = 0; do { run.forward(false); cudaEventRecord(b); cudaEventSynchronize(b); cudaEventElapsedTime(&x, a, b); } while (x < 500 && ++spins < 2000); }
    float inf = median([&] { run.forward(false); });
    float fw = median([&] { run.forward(true); });
    float bw = median([&] { run.backward(); });
    float fwbw = median([&] { run.forward(true); run.backward(); });
    CK(cudaDeviceSynchronize());
    printf("TIME %-28s B=%d T=%d N=%d D=%d | inference %.3f ms, forward(train) %.3f ms, backward %.3f ms, fw+bw %.3f ms\n", label, P.B, P.T, P.N, P.D, inf, fw, bw, fwbw);
    fflush(stdout);
    run.release();
}

#ifndef HARNESS_PART
#define HARNESS_PART 0
#endif
void part_checks();
void part_timing();
void part_small();

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "check";
    if (mode == "check") part_checks(); else if (mode == "small") part_small(); else part_timing();
    printf("%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
}

// Variants: the register split follows the rule in Backends/FusedVariant.swift:
// forward min(tiles, 24), backward min(tiles, 12), tiles = G_R · DP / kK.
#define TILES(GR, DP, K) ((GR) * (DP) / (K))
#define AFW(GR, DP, K) (TILES(GR, DP, K) < 24 ? TILES(GR, DP, K) : 24)
#define ABW(GR, DP, K) (TILES(GR, DP, K) < 12 ? TILES(GR, DP, K) : 12)
#define CHECK(CELLT, CODE, STORE, K, DP, ...) check<CELLT, STORE, DP, AFW(CELLT::kGatesR, DP, K), ABW(CELLT::kGatesR, DP, K)>(CODE, Problem{__VA_ARGS__}, seed++)

template <class CellT, int CODE, typename STORE, int K>
static void cell_dtype_grid(unsigned& seed) {
    //                                     B   T  N   D  s0   tb    cut   fclip gclip
    check<CellT, STORE, 16, AFW(CellT::kGatesR, 16, K), ABW(CellT::kGatesR, 16, K)>(CODE, Problem{1, 1, 1, 1, false, false, false, -1, -1}, seed++);
    check<CellT, STORE, 16, AFW(CellT::kGatesR, 16, K), ABW(CellT::kGatesR, 16, K)>(CODE, Problem{3, 17, 2, 16, true, false, false, -1, -1}, seed++);
    check<CellT, STORE, 48, AFW(CellT::kGatesR, 48, K), ABW(CellT::kGatesR, 48, K)>(CODE, Problem{9, 33, 3, 33, true, true, false, -1, -1}, seed++);
    check<CellT, STORE, 64, AFW(CellT::kGatesR, 64, K), ABW(CellT::kGatesR, 64, K)>(CODE, Problem{16, 64, 2, 64, true, false, false, -1, 0.5f}, seed++);
    check<CellT, STORE, 64, AFW(CellT::kGatesR, 64, K), ABW(CellT::kGatesR, 64, K)>(CODE, Problem{5, 20, 1, 64, true, false, true, 0.6f, -1}, seed++);
    check<CellT, STORE, 128, AFW(CellT::kGatesR, 128, K), ABW(CellT::kGatesR, 128, K)>(CODE, Problem{16, 128, 1, 128, true, false, false, -1, -1}, seed++);
    check<CellT, STORE, 128, AFW(CellT::kGatesR, 128, K), ABW(CellT::kGatesR, 128, K)>(CODE, Problem{2, 40, 1, 113, false, true, false, -1, -1}, seed++);
}

#if HARNESS_PART == 0 || HARNESS_PART == 1
void part_checks() {
    unsigned seed = 7;
#ifdef ONLY_CELL_0
    cell_dtype_grid<LSTMCell, 0, __nv_bfloat16, 16>(seed); cell_dtype_grid<LSTMCell, 0, __half, 16>(seed); cell_dtype_grid<LSTMCell, 0, float, 8>(seed);
#elif defined(ONLY_CELL_1)
    cell_dtype_grid<SLSTMCell, 1, __nv_bfloat16, 16>(seed); cell_dtype_grid<SLSTMCell, 1, __half, 16>(seed); cell_dtype_grid<SLSTMCell, 1, float, 8>(seed);
#elif defined(ONLY_CELL_2)
    cell_dtype_grid<GRUCell, 2, __nv_bfloat16, 16>(seed); cell_dtype_grid<GRUCell, 2, __half, 16>(seed); cell_dtype_grid<GRUCell, 2, float, 8>(seed);
#elif defined(ONLY_CELL_3)
    cell_dtype_grid<ElmanCell, 3, __nv_bfloat16, 16>(seed); cell_dtype_grid<ElmanCell, 3, __half, 16>(seed); cell_dtype_grid<ElmanCell, 3, float, 8>(seed);
#endif
}
// One representative shape per sweep for compute-sanitizer (slow under the tool).
void part_small() {
#ifdef ONLY_CELL_0
    unsigned seed = 3;
    check<LSTMCell, __nv_bfloat16, 48, AFW(4, 48, 16), ABW(4, 48, 16)>(0, Problem{9, 5, 2, 33, true, false, false, -1, -1}, seed++);
#endif
}
void part_timing() {
#ifdef ONLY_CELL_0
#define T_LSTM(DP, N, STORE, K, LABEL, B) timing<LSTMCell, STORE, DP, AFW(4, DP, K), ABW(4, DP, K)>(LABEL, Problem{B, 1024, N, DP, false, false, false, -1, -1})
    T_LSTM(16, 48, __nv_bfloat16, 16, "lstm bf16 sweep", 16);
    T_LSTM(32, 24, __nv_bfloat16, 16, "lstm bf16 sweep", 16);
    T_LSTM(64, 12, __nv_bfloat16, 16, "lstm bf16 sweep", 16);
    T_LSTM(128, 6, __nv_bfloat16, 16, "lstm bf16 sweep", 16);
    T_LSTM(64, 1, float, 8, "lstm fp32 dense H=64", 16);
    T_LSTM(64, 12, __nv_bfloat16, 16, "lstm bf16 batch", 256);
    T_LSTM(128, 1, __half, 16, "lstm fp16 dense H=128", 16);
#elif defined(ONLY_CELL_1)
    timing<SLSTMCell, __nv_bfloat16, 64, AFW(4, 64, 16), ABW(4, 64, 16)>("slstm bf16 sweep", Problem{16, 1024, 12, 64, false, false, false, -1, -1});
#elif defined(ONLY_CELL_2)
    timing<GRUCell, __nv_bfloat16, 64, AFW(3, 64, 16), ABW(3, 64, 16)>("gru bf16 sweep", Problem{16, 1024, 12, 64, false, false, false, -1, -1});
#elif defined(ONLY_CELL_3)
    timing<ElmanCell, __nv_bfloat16, 64, AFW(1, 64, 16), ABW(1, 64, 16)>("elman bf16 sweep", Problem{16, 1024, 12, 64, false, false, false, -1, -1});
#endif
}
#endif
