import Testing

@testable import Coordinator
