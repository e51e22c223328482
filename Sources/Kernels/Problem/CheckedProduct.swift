/// Multiplies tensor dimensions, throwing instead of trapping when a claimed size overflows `Int`.
enum CheckedProduct {
    /// The product of `factors`; throws `.invalidDimension` naming `what` if it overflows.
    static func of(_ factors: Int..., naming what: String) throws(KernelError) -> Int {
        var product = 1
        for factor in factors {
            let (next, overflow) = product.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw .invalidDimension(name: "\(what) (size overflows)", value: factor) }
            product = next
        }
        return product
    }
}
