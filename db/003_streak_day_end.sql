-- When the last counted streak day ends, as a UTC instant in the zone it was counted in, so a
-- change of time zone can never make two streak days out of one real day (see
-- bot/services/streaks.py). NULL for streaks counted before: their last_date is taken as is.
ALTER TABLE streaks ADD COLUMN last_day_end TEXT;
