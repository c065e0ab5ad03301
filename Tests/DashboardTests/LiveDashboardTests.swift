import Foundation
import XCTest
@testable import Dashboard
import Federation

/// The live dashboard's one event handler: keys, resizes, engine events, stderr lines, signals
/// and ticks, each turned into state, commands for the engine, a redraw, or the end of the loop.
final class LiveDashboardTests: XCTestCase {
    func running() throws -> (LiveDashboard, EventScript) {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        script.round(1)
        var live = LiveDashboard(state: DashboardState(scenario: scenario, dataStats: TestSupport.stats), stderrLog: "/tmp/x.log")
        for e in script.events { _ = live.handle(.engine(e)) }
        return (live, script)
    }

    func testEngineEventsBuildTheSameStateAsApplyingThem() throws {
        let (live, script) = try running()
        var direct = DashboardState(scenario: try TestSupport.scenario(), dataStats: TestSupport.stats)
        direct.apply(script.events)
        XCTAssertEqual(render(live.state, width: 120, height: 40).text, render(direct, width: 120, height: 40).text)
    }

    func testQuitStopsTheRunAndWaitsForItToFinish() throws {
        var (live, _) = try running()
        XCTAssertEqual(live.handle(.key(.char("q"))), [.stop])
        XCTAssertFalse(live.done, "the loop waits for the run to finish its step")
        XCTAssertEqual(live.handle(.tick(elapsed: 1)), [])
        _ = live.handle(.engine(.runFinished(rounds: 1, finalEvalLoss: 5.0, baseEvalLoss: 5.6, wallSeconds: 1, stopped: true)))
        XCTAssertFalse(live.done)
        _ = live.handle(.engineFinished)
        XCTAssertTrue(live.done)
    }

    func testASecondQuitDoesNotWait() throws {
        var (live, _) = try running()
        XCTAssertEqual(live.handle(.key(.char("q"))), [.stop])
        XCTAssertEqual(live.handle(.key(.char("q"))), [], ".stop is sent once")
        XCTAssertTrue(live.done)
        XCTAssertFalse(live.engineFinished)
    }

    func testASignalIsAQuit() throws {
        var (live, _) = try running()
        XCTAssertEqual(live.handle(.signal), [.stop])
        XCTAssertTrue(live.state.ui.quitRequested)
        XCTAssertFalse(live.done)
        _ = live.handle(.signal)
        XCTAssertFalse(live.done, "a signal never forces: the second one ends the process in its handler")
    }

    func testTicksRedrawOncePerSecondWhileTheRunGoesOn() throws {
        var (live, _) = try running()
        live.needsDraw = false
        _ = live.handle(.tick(elapsed: 2.1))
        XCTAssertTrue(live.needsDraw)
        live.needsDraw = false
        _ = live.handle(.tick(elapsed: 2.6))
        XCTAssertFalse(live.needsDraw, "same second: nothing to redraw")
        _ = live.handle(.engineFinished)
        _ = live.handle(.tick(elapsed: 9))
        XCTAssertFalse(live.needsDraw, "no ticks after the run finished")
    }

    func testResizeAndStderrLinesReachTheState() throws {
        var (live, _) = try running()
        _ = live.handle(.resize(width: 90, height: 30))
        XCTAssertEqual(live.state.ui.width, 90)
        XCTAssertEqual(live.state.ui.height, 30)
        _ = live.handle(.stderrLine("warning: something"))
        XCTAssertEqual(live.state.ui.stderrLines, 1)
        XCTAssertEqual(live.state.ui.stderrPath, "/tmp/x.log")
        XCTAssertTrue(live.state.run.log.contains { $0.text == "stderr: warning: something" })
    }

    func testTheFeedReportsTheEndAfterEveryEvent() {
        let feed = EventFeed()
        feed.push(.phase(round: 1, .training))
        feed.finish()
        let (events, finished) = feed.take()
        XCTAssertEqual(events.count, 1)
        XCTAssertTrue(finished)
        XCTAssertTrue(feed.take().events.isEmpty)
    }
}
