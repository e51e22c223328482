/// The placement rule, a pure function of the candidates: which worker takes a prompt of
/// `promptTokens` tokens. A candidate has room when its room pages are at least the pages the
/// prompt needs there (all its pages, less the leading ones it holds hot). `nil` when no
/// candidate has room.
enum Placer {
    /// Chooses among `candidates` by `policy`. `source` is the live holder of the longest leading
    /// run (for pulls); `roundRobinAfter` is the slot chosen last by round-robin.
    static func choose(
        candidates: [PlacementCandidate],
        source: PullSource?,
        promptTokens: Int,
        pageSize: Int,
        policy: PlacementPolicy,
        weights: PlacementWeights,
        roundRobinAfter: Int
    ) -> PlacementDecision? {
        let promptPages = (promptTokens + pageSize - 1) / pageSize
        func needed(_ candidate: PlacementCandidate) -> Int { max(0, promptPages - candidate.hotCachedPages) }
        func fits(_ candidate: PlacementCandidate) -> Bool { needed(candidate) <= candidate.roomPages }
        func decision(_ candidate: PlacementCandidate, pull: PlacementDecision.Pull?, cost: Double) -> PlacementDecision
        {
            PlacementDecision(
                slot: candidate.slot,
                worker: candidate.worker,
                cachedPages: candidate.cachedPages,
                neededPages: needed(candidate),
                pull: pull,
                cost: cost
            )
        }
        switch policy {
        case .prefix:
            var best: (candidate: PlacementCandidate, cost: Double, pull: PlacementDecision.Pull?)?
            for candidate in candidates where fits(candidate) {
                var pull: PlacementDecision.Pull?
                var pullable = 0
                if let source, source.slot != candidate.slot,
                    source.pages - candidate.cachedPages >= max(1, weights.minimumPullPages)
                {
                    pullable = source.pages - candidate.cachedPages
                    pull = PlacementDecision.Pull(source: source, pages: candidate.cachedPages..<source.pages)
                }
                let credited = Double(pageSize) * (candidate.credit + weights.pullCredit * Double(pullable))
                let cost =
                    weights.prefillWeight * max(0, Double(promptTokens) - credited)
                    + weights.decodeWeight * Double(candidate.loadTokens)
                if let current = best {
                    let better =
                        cost < current.cost
                        || (cost == current.cost
                            && (candidate.loadTokens, candidate.worker) < (
                                current.candidate.loadTokens, current.candidate.worker
                            ))
                    if !better { continue }
                }
                best = (candidate, cost, pull)
            }
            return best.map { decision($0.candidate, pull: $0.pull, cost: $0.cost) }
        case .roundRobin:
            let fitting = candidates.filter(fits).sorted { $0.slot < $1.slot }
            guard let chosen = fitting.first(where: { $0.slot > roundRobinAfter }) ?? fitting.first else { return nil }
            return decision(chosen, pull: nil, cost: 0)
        case .leastLoaded:
            let chosen = candidates.filter(fits).min { ($0.loadTokens, $0.worker) < ($1.loadTokens, $1.worker) }
            return chosen.map { decision($0, pull: nil, cost: 0) }
        }
    }
}
