// Files served as they are by an HttpServer (the web page of the HTTP read
// API, ledger_store/http_read_api.h): a path, a content type and the bytes,
// compiled into the program (web/BUILD embeds them), so a service needs no
// file next to it and a page always matches the program serving it.
//
// Thread-safe: plain data.
#ifndef MICROLEDGER_SERVING_STATIC_FILES_H_
#define MICROLEDGER_SERVING_STATIC_FILES_H_

#include <string>

namespace microledger {

struct StaticFile {
  std::string path;  // "/index.html", "/verifier.js", ...
  std::string content_type;
  std::string body;
};

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_STATIC_FILES_H_
