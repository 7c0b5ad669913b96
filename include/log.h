/* log: one line per event on stderr, "wardd: LEVEL message". Thread-safe
 * (one write(2) per line). */
#ifndef WARDD_LOG_H
#define WARDD_LOG_H

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Lines below `min` are dropped; default LOG_INFO (WARDD_LOG=debug lowers it). */
void log_set_level(log_level min);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
