"""Name pools by country (with accents, so that identity matching meets real Unicode)."""

from __future__ import annotations

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "FR": (
        "Jean", "Marie", "Pierre", "Sophie", "Julien", "Camille", "Nicolas", "Claire", "Thomas", "Julie",
        "Antoine", "Laura", "Mathieu", "Pauline", "Alexandre", "Émilie", "Élodie", "Hélène", "Jérôme",
        "François", "Léa", "Chloé", "Noé", "Zoé", "Maël", "Anaïs", "Benoît", "Cécile", "Gaëlle", "Loïc",
        "Thérèse", "Manon", "Hugo", "Lucas", "Inès", "Louis", "Sébastien", "Céline", "Rémi", "Aurélie",
    ),
    "ES": (
        "José", "María", "Lucía", "Martín", "Sofía", "Álvaro", "Andrés", "Inés", "Raúl", "Íñigo",
        "Begoña", "Jesús", "Ángela", "Carmen", "Javier", "Pablo", "Elena", "Sergio", "Laura", "David",
        "Ana", "Diego", "Marta", "Carlos", "Paula", "Alejandro", "Cristina", "Rubén", "Nuria", "Óscar",
    ),
    "DE": (
        "Lukas", "Jonas", "Leon", "Finn", "Lena", "Anna", "Laura", "Jürgen", "Jörg", "Björn", "Sören",
        "Käthe", "Günther", "Uwe", "Matthias", "Katrin", "Sabine", "Stefan", "Thomas", "Andreas",
        "Michael", "Julia", "Sarah", "Hannah", "Maximilian", "Felix", "Jana", "Tobias", "Ute", "Frank",
    ),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "FR": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
        "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
        "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
        "Martinez", "Légaré", "Fontaine", "Chevalier", "Rousseau", "Blanc", "Guérin", "Muller", "Henry",
        "Roussel", "Nicolas", "Perrin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Brière",
    ),
    "ES": (
        "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
        "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso",
        "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano",
        "Blanco", "Molina", "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina",
    ),
    "DE": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
        "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
        "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
        "Krause", "Meier", "Lehmann", "Köhler", "Herrmann", "König", "Walter", "Huber", "Kaiser", "Fuchs",
        "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Groß", "Strauß",
    ),
}

CONTRACTOR_DOMAINS: tuple[str, ...] = ("acme-consulting.example", "globex-it.example", "initech.example")
PERSONAL_DOMAINS: tuple[str, ...] = ("gmail.com", "outlook.fr", "yahoo.es", "web.de")
