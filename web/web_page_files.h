// The web page of the HTTP read API (ledger_store/http_read_api.h): index.html,
// app.js, style.css and the verifier module verifier.js, compiled into the
// program that serves them (web/BUILD generates the definition from the files
// in web/), so ml-host and ml-mirror need no file next to them and always
// serve the page of their own version.
//
// Thread-safe: the files are built once and never change.
#ifndef MICROLEDGER_WEB_WEB_PAGE_FILES_H_
#define MICROLEDGER_WEB_WEB_PAGE_FILES_H_

#include <vector>

#include "serving/static_files.h"

namespace microledger {

// index.html first (the page at "/"), then the files it loads.
const std::vector<StaticFile>& WebPageFiles();

}  // namespace microledger

#endif  // MICROLEDGER_WEB_WEB_PAGE_FILES_H_
