import Foundation
import FlashRNNCore
import FlashRNNKernelParams

extension FlashRNNGridExchangeParams: KernelArgument {}

extension CUDAFusedBackend {
    /// How the forward and backward sweeps of one problem launch: a head that fits one SM runs
    /// one CTA per (head, batch slice) (`FusedVariant`); a larger head runs KS CTAs per (head,
    /// batch slice), its feature slices (`FusedSlicedVariant`): one thread-block cluster, or
    /// beyond a cluster's capacity a cooperative grid exchanging through global memory.
    struct SweepPlan {
        /// The modules of the two sweeps, loaded when a launch first needs them.
        let forwardSpec, backwardSpec: KernelModuleSpec
        let dtype: DType
        let headDim: Int
        let grid: (Int, Int, Int)
        let forwardThreads, backwardThreads: Int
        let forwardSharedBytes, backwardSharedBytes: Int
        /// Output tile width of the dR kernel.
        let weightTile: Int
        /// CTAs per cluster along x; 1 launches without a cluster.
        let clusterSize: Int
        /// Grid exchange: 32-bit words of one group's tile (forward, backward); nil for one SM or a cluster.
        let gridTileWords: (forward: Int, backward: Int)?
        /// The grid sweeps' exchange protocols (their modules are compiled for them).
        var forwardGridExchange = GridExchangeProtocol.counter, backwardGridExchange = GridExchangeProtocol.counter
        /// The forward's grid where it differs from `grid` (float32 one-SM: its own batch slice).
        var forwardGrid: (Int, Int, Int)? = nil
        /// The backward's grid where it differs from `grid` (float32 FMA backward: the forward's slice).
        var backwardGrid: (Int, Int, Int)? = nil

        /// The dR module for `path` (`WeightGradientChoice`).
        func weightGradientModule(_ path: WeightGradientChoice.Path) -> WeightGradientModule {
            WeightGradientModule(dtype: dtype, tile: weightTile, path: path)
        }

        /// What a backward of `length` steps loads: the backward sweep and the dR module it picks.
        func backwardModules(length T: Int) -> [KernelModuleSpec] {
            [backwardSpec, weightGradientModule(WeightGradientChoice.path(headDim: headDim, length: T, dtype: dtype)).spec]
        }

        func launchForward(_ runtime: CUDARuntime, _ p: FlashRNNFusedParams) throws {
            try launch(runtime, try sweepKernel(runtime, forwardSpec), grid: forwardGrid ?? grid, threads: forwardThreads, sharedBytes: forwardSharedBytes,
                       tileWords: gridTileWords?.forward, gridExchange: forwardGridExchange, p)
        }

        func launchBackward(_ runtime: CUDARuntime, _ p: FlashRNNFusedParams) throws {
            try launch(runtime, try sweepKernel(runtime, backwardSpec), grid: backwardGrid ?? grid, threads: backwardThreads, sharedBytes: backwardSharedBytes,
                       tileWords: gridTileWords?.backward, gridExchange: backwardGridExchange, p)
        }

        private func launch(_ runtime: CUDARuntime, _ kernel: Kernel, grid: (Int, Int, Int), threads: Int, sharedBytes: Int, tileWords: Int?,
                            gridExchange: GridExchangeProtocol, _ p: FlashRNNFusedParams) throws {
            guard let tileWords else {
                return try runtime.launch(kernel, grid: grid, block: (threads, 1, 1), sharedBytes: sharedBytes,
                                          clusterSize: clusterSize, arguments: [p])
            }
            // One exchange buffer pair per (head, batch slice) group, and per the protocol one
            // arrival counter (zeroed) or the tags zeroed with the words; freed stream-ordered
            // after the kernel.
            let groups = Int(p.N) * grid.1
            let words = gridExchange.exchangeWords(groups: groups, tileWords: tileWords)
            let exchange = try CUDABuffer(runtime: runtime, dtype: .float32, count: words)
            var x = FlashRNNGridExchangeParams()
            x.exchange = exchange.address
            var arrivals: CUDABuffer?
            switch gridExchange {
            case .counter:
                let counters = try CUDABuffer(runtime: runtime, dtype: .float32, count: gridExchange.arrivalCounters(groups: groups))
                try runtime.fill32(counters.address, pattern: 0, count: counters.count)
                x.arrivals = counters.address
                arrivals = counters
            case .tagged:
                try runtime.fill32(exchange.address, pattern: 0, count: words)
            }
            try runtime.launch(kernel, grid: grid, block: (threads, 1, 1), sharedBytes: sharedBytes, clusterSize: 1,
                               cooperative: true, arguments: [p, x])
            // The buffers' stream-ordered frees after the launch, not wherever their last use leaves them.
            withExtendedLifetime((exchange, arrivals)) {}
        }
    }

    /// `backward`: the plan launches the backward sweep (a sliced variant then also asks whether
    /// the backward's clusters fit). `askingFit` false assumes every cluster fits, so nothing is
    /// loaded: the plan a backward will most likely take, for prefetching its modules.
    static func sweepPlan(_ runtime: CUDARuntime, cell: CellKind, dtype: DType, shape: ProblemShape, backward: Bool,
                          askingFit: Bool = true) throws -> SweepPlan {
        let D = shape.headDim
        func fits(_ variant: FusedSlicedVariant) throws -> Bool {
            try !askingFit || clustersFit(runtime, variant, backward: backward)
        }
        if D <= FusedVariant.maxHeadDim {
            // A 16-bit head the policy (or FLASHRNN_FUSED_SMALL_CLUSTER) splits over a portable
            // cluster, per sweep; one SM where the device cannot place that cluster. dR as on one SM.
            if runtime.properties.supportsClusters,
               let small = FusedSlicedVariant.smallCluster(cell: cell, dtype: dtype, headDim: D, batch: shape.batch, heads: shape.heads,
                                                           backward: backward, multiprocessors: runtime.properties.multiprocessors,
                                                           sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn),
               try fits(small) {
                return slicedPlan(small, dtype: dtype, shape: shape,
                                  weightTile: FusedVariant(cell: cell, dtype: dtype, headDim: D).weightTile)
            }
            let variant = FusedVariant(cell: cell, dtype: dtype, headDim: D)
            let float32Grid = dtype == .float32 ? float32ForwardGrid(shape, runtime.properties.multiprocessors) : nil
            return SweepPlan(forwardSpec: variant.forwardSpec, backwardSpec: variant.backwardSpec, dtype: dtype, headDim: D,
                             grid: sweepGrid(shape),
                             forwardThreads: variant.forwardThreads, backwardThreads: variant.backwardThreads,
                             forwardSharedBytes: variant.forwardSharedBytes, backwardSharedBytes: variant.launchedBackwardSharedBytes,
                             weightTile: variant.weightTile,
                             clusterSize: 1, gridTileWords: nil,
                             forwardGrid: float32Grid, backwardGrid: variant.runsFloat32FMABackward ? float32Grid : nil)
        }
        guard var variant = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: D,
                                               sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn) else {
            let reason = FusedSlicedVariant.limitation(cell: cell, headDim: D, dtype: dtype, batch: shape.batch, heads: shape.heads,
                                                       sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn,
                                                       multiprocessors: runtime.properties.multiprocessors)
            throw FlashRNNError.unsupportedProblem(backend: "cudaFused", reason: reason ?? "no cluster holds D = \(D)")
        }
        // A cluster above the portable 8 CTAs needs 16 free SMs of one GPC, which a partitioned
        // GPU may not have: then the smallest portable cluster that holds the head, or a refusal
        // by name (the automatic backend takes cudaAlternating).
        if variant.exchange == .cluster, variant.ctasPerHead > 8, try !fits(variant) {
            guard let smaller = FusedSlicedVariant.portableFallback(cell: cell, dtype: dtype, headDim: D,
                                                                    sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn) else {
                throw FlashRNNError.unsupportedProblem(backend: "cudaFused",
                    reason: "D = \(D) needs clusters of \(variant.ctasPerHead) CTAs, which this device cannot place (cuOccupancyMaxActiveClusters = 0)")
            }
            variant = smaller
            guard try fits(variant) else {
                throw FlashRNNError.unsupportedProblem(backend: "cudaFused",
                    reason: "D = \(D) needs clusters of \(variant.ctasPerHead) CTAs, which this device cannot place (cuOccupancyMaxActiveClusters = 0)")
            }
        }
        // Clusters of 16 that the device cannot all run at once leave the last ones for a second
        // wave of the whole sweep: LSTM bfloat16 192 × 4 at B = 16 (eight clusters of 16) took
        // 1.60 / 5.82 ms against 1.01 / 4.82 on clusters of 8 (H200, eighth session's closing
        // call), while 256 × 3 (six) is faster on 16 (0.82 against 1.04 forward). So where the
        // (head, batch slice) clusters outnumber what fits, the portable clusters, if all of
        // those fit at once.
        if askingFit, variant.exchange == .cluster, variant.ctasPerHead > 8,
           FusedSlicedVariant.overrides.minimumClusterSize == nil {
            let needed = shape.heads * ((shape.batch + FusedVariant.batchSlice - 1) / FusedVariant.batchSlice)
            if let active = try activeClusters(runtime, variant, backward: backward), needed > active,
               let smaller = FusedSlicedVariant.portableFallback(cell: cell, dtype: dtype, headDim: D,
                                                                 sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn),
               takesPortableClusters(needed: needed, active: active,
                                     activePortable: try activeClusters(runtime, smaller, backward: backward)) {
                variant = smaller
            }
        }
        return slicedPlan(variant, dtype: dtype, shape: shape, weightTile: variant.weightTile)
    }

    /// Whether a problem needing `needed` clusters of 16 CTAs, of which the device runs `active` at
    /// once, takes the portable fallback (of which it runs `activePortable`; nil: the driver
    /// cannot say): only where the large clusters would need a second wave and the portable
    /// ones would not.
    static func takesPortableClusters(needed: Int, active: Int?, activePortable: Int?) -> Bool {
        guard let active, needed > active, let activePortable else { return false }
        return activePortable >= needed
    }

    /// KS CTAs per (head, batch slice): one cluster, or the cooperative grid.
    private static func slicedPlan(_ variant: FusedSlicedVariant, dtype: DType, shape: ProblemShape, weightTile: Int) -> SweepPlan {
        let isGrid = variant.exchange == .grid
        let batchSlices = (shape.batch + FusedVariant.batchSlice - 1) / FusedVariant.batchSlice
        var plan = SweepPlan(forwardSpec: variant.forwardSpec, backwardSpec: variant.backwardSpec, dtype: dtype, headDim: shape.headDim,
                             grid: (shape.heads * variant.ctasPerHead, batchSlices, 1),
                             forwardThreads: variant.threads, backwardThreads: variant.threads,
                             forwardSharedBytes: variant.forwardSharedBytes, backwardSharedBytes: variant.backwardSharedBytes,
                             weightTile: weightTile,
                             clusterSize: isGrid ? 1 : variant.ctasPerHead,
                             gridTileWords: isGrid ? (variant.forwardTileWords, variant.backwardTileWords) : nil)
        plan.forwardGridExchange = variant.forwardGridExchange ?? .counter
        plan.backwardGridExchange = variant.backwardGridExchange ?? .counter
        return plan
    }

    /// One CTA per (head, float32 batch slice): `FusedVariant.float32ForwardSlice`, or `forcedSlice`.
    static func float32ForwardGrid(_ shape: ProblemShape, _ multiprocessors: Int,
                                   forcedSlice: Int? = FusedVariant.forcedFloat32ForwardSlice) -> (Int, Int, Int) {
        let slice = forcedSlice ?? FusedVariant.float32ForwardSlice(batch: shape.batch, heads: shape.heads, multiprocessors: multiprocessors)
        return (shape.heads, (shape.batch + slice - 1) / slice, 1)
    }

    private static let fitLock = NSLock()
    /// `cuOccupancyMaxActiveClusters` per sweep module (nil: the driver cannot say).
    nonisolated(unsafe) private static var activeClusterCache: [KernelModuleSpec: Int?] = [:]

    /// How many clusters of the variant's forward sweep (and, for a backward, of its backward
    /// sweep: the smaller count) the device runs at once; nil when the driver cannot say. Asked
    /// once per sweep module and process; an inference call does not load the backward to ask.
    static func activeClusters(_ runtime: CUDARuntime, _ variant: FusedSlicedVariant, backward: Bool) throws -> Int? {
        let sweeps = [(variant.forwardSpec, variant.forwardSharedBytes)] + (backward ? [(variant.backwardSpec, variant.backwardSharedBytes)] : [])
        var least: Int?
        for (spec, bytes) in sweeps {
            fitLock.lock()
            let known = activeClusterCache[spec]
            fitLock.unlock()
            let count: Int?
            if let known {
                count = known
            } else {
                count = try runtime.maxActiveClusters(try sweepKernel(runtime, spec), block: (variant.threads, 1, 1),
                                                      sharedBytes: bytes, clusterSize: variant.ctasPerHead)
                fitLock.lock(); activeClusterCache[spec] = .some(count); fitLock.unlock()
            }
            if let count { least = min(least ?? count, count) }
        }
        return least
    }

    /// Whether the device places at least one cluster of the variant's sweeps; true when the
    /// driver cannot say.
    static func clustersFit(_ runtime: CUDARuntime, _ variant: FusedSlicedVariant, backward: Bool) throws -> Bool {
        try activeClusters(runtime, variant, backward: backward).map { $0 > 0 } ?? true
    }
}

extension CUDARuntime {
    /// Launches `kernel` with thread-block clusters of `clusterSize` CTAs along x
    /// (`cuLaunchKernelEx`, CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION), or `cooperative`ly (every CTA
    /// resident at once, else the driver refuses); neither is a plain launch. Clusters above 8 CTAs
    /// (the portable limit) are allowed on the kernel first.
    func launch(_ kernel: Kernel, grid: (Int, Int, Int), block: (Int, Int, Int), sharedBytes: Int, clusterSize: Int,
                cooperative: Bool = false, arguments: [any KernelArgument]) throws {
        guard clusterSize > 1 || cooperative else {
            return try launch(kernel, grid: grid, block: block, sharedBytes: sharedBytes, arguments: arguments)
        }
        // The attribute launch falls back to a plain launch without cuLaunchKernelEx; these cannot.
        guard driver.cuLaunchKernelEx != nil else {
            throw CUDAError.symbolMissing(library: "libcuda.so.1", symbol: "cuLaunchKernelEx")
        }
        if clusterSize > 8 {
            try driver.check(driver.cuFuncSetAttribute(kernel.function, CUAttribute.funcNonPortableClusterSizeAllowed, 1),
                             "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)", "kernel \(kernel.name)")
        }
        try launch(kernel, grid: grid, block: block, sharedBytes: sharedBytes,
                   attributes: [cooperative ? .cooperative : .clusterDimension(clusterSize)], arguments: arguments)
    }
}
