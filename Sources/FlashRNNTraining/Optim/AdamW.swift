import FlashRNN
import RealModule

/// Adam with decoupled weight decay (Loshchilov & Hutter): per step, for every parameter,
///
///     p ← p − lr·λ·p                  (only parameters that decay)
///     m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
///     p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
public final class AdamW<F: CellScalar> {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Steps taken so far (t).
    public private(set) var step: Int = 0
    /// First and second moments by parameter name.
    public var firstMoment: [String: [F]] = [:]
    public var secondMoment: [String: [F]] = [:]

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.epsilon = epsilon; self.weightDecay = weightDecay
    }

    public func update(_ parameters: [Parameter<F>]) {
        step += 1
        let b1 = F(beta1), b2 = F(beta2), eps = F(epsilon), lr = F(learningRate)
        let correction1 = F(1 - Double.pow(beta1, Double(step))), correction2 = F(1 - Double.pow(beta2, Double(step)))
        let decay = F(1 - learningRate * weightDecay)
        for p in parameters {
            var m = firstMoment[p.name] ?? [F](repeating: 0, count: p.value.count)
            var v = secondMoment[p.name] ?? [F](repeating: 0, count: p.value.count)
            for i in p.value.indices {
                let g = p.gradient[i]
                if p.decays { p.value[i] *= decay }
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                p.value[i] -= lr * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps)
            }
            firstMoment[p.name] = m
            secondMoment[p.name] = v
        }
    }

    /// Restores the step count (with the moments) from a checkpoint.
    public func restore(step: Int, first: [String: [F]], second: [String: [F]]) {
        self.step = step; firstMoment = first; secondMoment = second
    }
}

/// Scales all gradients together so their global L2 norm is at most `maxNorm`.
/// Returns the norm before scaling.
@discardableResult
public func clipGradientNorm<F: CellScalar>(_ parameters: [Parameter<F>], maxNorm: Double) -> Double {
    var sum = 0.0
    for p in parameters { for g in p.gradient { sum += Double(g) * Double(g) } }
    let norm = sum.squareRoot()
    if norm > maxNorm, norm > 0 {
        let scale = F(maxNorm / norm)
        for p in parameters { for i in p.gradient.indices { p.gradient[i] *= scale } }
    }
    return norm
}
