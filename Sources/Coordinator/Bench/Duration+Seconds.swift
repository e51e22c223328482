extension Duration {
    /// The duration in seconds, as a `Double` (attosecond precision kept to the double's).
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Array where Element == Double {
    /// The middle value once sorted (the upper one of the two middle values for an even count);
    /// 0 for no values.
    var median: Double {
        let sorted = self.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
