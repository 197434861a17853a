@testable import FlashRNNTraining
import Testing

@Suite struct OptimizerTests {
    /// Two AdamW steps with lr 0.1, weight decay 0.1, β = (0.9, 0.999), ε = 1e-8.
    @Test func adamWMatchesHandComputedSteps() {
        let decayed = Parameter<Double>(name: "w", shape: [2], value: [1, -2], decays: true)
        let plain = Parameter<Double>(name: "b", shape: [1], value: [1], decays: false)
        let optimizer = AdamW<Double>(learningRate: 0.1, weightDecay: 0.1)

        // Step 1: m̂ = g, v̂ = g², so the Adam step is lr·g/(|g|+ε) ≈ ±0.1; decay multiplies by 1 − 0.01.
        decayed.gradient = [0.5, -0.1]; plain.gradient = [0.5]
        optimizer.update([decayed, plain])
        #expect(abs(decayed.value[0] - (0.99 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-15)
        #expect(abs(decayed.value[1] - (-1.98 + 0.1 * 0.1 / (0.1 + 1e-8))) < 1e-15)
        #expect(abs(plain.value[0] - (1 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-15)

        // Step 2, w[0]: g = 0.1, m = 0.9·0.05 + 0.1·0.1 = 0.055, v = 0.999·0.00025 + 0.001·0.01 = 0.00025975,
        // m̂ = 0.055/0.19, v̂ = 0.00025975/0.001999; p = 0.89·0.99 − 0.1·m̂/(√v̂ + ε) = 0.8007959063646517.
        decayed.gradient = [0.1, 0.3]; plain.gradient = [-0.2]
        optimizer.update([decayed, plain])
        #expect(optimizer.step == 2)
        #expect(abs(decayed.value[0] - 0.8007959063646517) < 1e-12)
        #expect(abs(decayed.value[1] - -1.9106189910200655) < 1e-12)
        #expect(abs(plain.value[0] - 0.8654394181165108) < 1e-12)
    }

    @Test func gradientClippingScalesTheGlobalNorm() {
        let a = Parameter<Double>(name: "a", shape: [1], value: [0], decays: false)
        let b = Parameter<Double>(name: "b", shape: [1], value: [0], decays: false)
        a.gradient = [3]; b.gradient = [4]
        #expect(clipGradientNorm([a, b], maxNorm: 1) == 5)
        #expect(abs(a.gradient[0] - 0.6) < 1e-15 && abs(b.gradient[0] - 0.8) < 1e-15)
        // Below the limit nothing changes.
        #expect(abs(clipGradientNorm([a, b], maxNorm: 2) - 1) < 1e-15)
        #expect(abs(a.gradient[0] - 0.6) < 1e-15)
    }
}
