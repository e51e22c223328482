import Testing
@testable import CacheProtocol
