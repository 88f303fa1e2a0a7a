#pragma once

// How the CLI shows a job: narration as lines, progress as a bar with rate and ETA on a
// terminal (plain lines otherwise), then the result, in words or (--json) as JSON.

#include <cstdio>
#include <string>

#include "contracts/job_events.hpp"

namespace rbee::cli {

struct RenderOptions {
  bool json = false;         // print the result as JSON on stdout, the story on stderr
  bool interactive = false;  // stdout is a terminal: redraw one progress line
};

class JobRenderer {
 public:
  JobRenderer(RenderOptions options, std::string operation);

  void narration(const contracts::Json& data);
  void progress(const contracts::Json& data);
  void token(const contracts::Json& data);
  void result(const contracts::Json& data);
  // The job ended: prints what the user must know; returns the process exit code
  // (0 completed, 1 failed, 130 cancelled).
  int done(const contracts::Done& done);

 private:
  void clear_progress_line();
  // Where narration and progress go: stdout unless stdout carries data (JSON, generated text).
  FILE* story() const { return options_.json || operation_ == "infer" ? stderr : stdout; }

  RenderOptions options_;
  std::string operation_;
  bool progress_line_open_ = false;
};

// A progress line: "check  [#####.....]  3/6  1.0/s  ETA 3 s" (bytes shown in KiB/MiB/GiB).
std::string format_progress_line(const contracts::Progress& progress, int bar_width);
// 1536 → "1.5 KiB".
std::string format_bytes(double bytes);
// 75 → "1 min 15 s".
std::string format_duration(double seconds);
// The human view of a result: a table for status/hive_list, the JSON itself otherwise.
std::string format_result(const std::string& operation, const contracts::Json& result);

}  // namespace rbee::cli
