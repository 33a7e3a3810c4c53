// Qt app test support: wait, spinning the event loop, until a condition holds or a timeout passes.
// A test file may define DS_TEST_WAIT_MS before including this to change the default timeout.
#pragma once
#include <QElapsedTimer>
#include <QTest>

#ifndef DS_TEST_WAIT_MS
#define DS_TEST_WAIT_MS 120000
#endif

// Waits until `done()` or the timeout; returns done() at the end.
template <class F>
bool wait_for(F&& done, int timeout_ms = DS_TEST_WAIT_MS) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < timeout_ms) QTest::qWait(5);
  return done();
}
