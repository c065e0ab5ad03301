import Testing
@testable import Deployment
